"""The MoE engine: plain PyTorch, no mmdet/mmcv/mmengine imports, no method.

router.py (scores -> top-k; the Router contract) | token_layout.py (image
of each token) | experts.py (stacked expert weights and math) |
dispatch.py (permute -> experts -> combine) | losses.py (load balancing,
z-loss, tutel's importance + load loss, the token mean other losses
share) | layer.py (MoELayer) | expert_budget.py (fewer experts per token
at test time) | upcycle.py (dense -> experts) | stats.py (load and
co-activation counts) | collect.py (gather the pending losses of a model's layers).

Method-specific routers and losses live with their method (HI-MoE's
HierarchicalRouter in :mod:`mmdet_dynmoe.hi_moe`, DAMEX's routing-target
loss in :mod:`mmdet_dynmoe.damex`).
"""
from .collect import (clear_moe_aux_losses, moe_layers, pop_moe_aux_losses,
                      pop_moe_routing)
from .dispatch import DISPATCH_PATHS, dispatch, select_dispatch
from .experts import GroupedExperts
from .layer import MoELayer, RoutingRecord
from .losses import (importance_load_loss, load_balancing_loss,
                     mean_over_tokens, router_z_loss)
from .router import (ROUTERS, Router, RouterOutput, TopKRouter, build_router,
                     register_router)
from .stats import RoutingStats
from .token_layout import TokenLayout, flatten_tokens
from .upcycle import split_dense_mlp, upcycle_dense_mlp, upcycled_router_weight

__all__ = [
    'DISPATCH_PATHS', 'GroupedExperts', 'MoELayer', 'ROUTERS', 'Router',
    'RouterOutput', 'RoutingRecord', 'RoutingStats', 'TokenLayout',
    'TopKRouter', 'build_router', 'clear_moe_aux_losses', 'dispatch',
    'flatten_tokens', 'importance_load_loss', 'load_balancing_loss',
    'mean_over_tokens', 'moe_layers', 'pop_moe_aux_losses', 'pop_moe_routing',
    'register_router', 'router_z_loss', 'select_dispatch', 'split_dense_mlp',
    'upcycle_dense_mlp', 'upcycled_router_weight'
]
