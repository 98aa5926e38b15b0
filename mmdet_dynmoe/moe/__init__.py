"""The MoE engine: plain PyTorch, no mmdet/mmcv/mmengine imports.

router.py (scores -> top-k) | hierarchical_router.py (scene -> instance
routing over expert groups) | token_layout.py (image of each token) |
experts.py (stacked expert weights and math) |
dispatch.py (permute -> experts -> combine) | losses.py (routing losses) |
layer.py (MoELayer) | upcycle.py (dense -> experts) | stats.py (load and
co-activation counts) | aux_losses.py (collect losses over a model).
"""
from .aux_losses import clear_moe_aux_losses, moe_layers, pop_moe_aux_losses
from .dispatch import DISPATCH_MODES, dispatch, select_dispatch
from .experts import GroupedExperts
from .hierarchical_router import HierarchicalRouter
from .layer import MoELayer
from .losses import (load_balancing_loss, router_z_loss, routing_target_loss,
                     scene_diversity_loss)
from .router import ROUTERS, RouterOutput, TopKRouter, build_router
from .stats import RoutingStats
from .token_layout import TokenLayout, flatten_tokens
from .upcycle import split_dense_mlp, upcycle_dense_mlp, upcycled_router_weight

__all__ = [
    'DISPATCH_MODES', 'GroupedExperts', 'HierarchicalRouter', 'MoELayer',
    'ROUTERS', 'RouterOutput', 'RoutingStats', 'TokenLayout', 'TopKRouter',
    'build_router', 'clear_moe_aux_losses', 'dispatch', 'flatten_tokens',
    'load_balancing_loss', 'moe_layers', 'pop_moe_aux_losses',
    'router_z_loss', 'routing_target_loss', 'scene_diversity_loss',
    'select_dispatch', 'split_dense_mlp', 'upcycle_dense_mlp',
    'upcycled_router_weight'
]
