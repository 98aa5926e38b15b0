"""The MoE engine: plain PyTorch, no mmdet/mmcv/mmengine imports.

router.py (scores -> top-k) | experts.py (stacked expert weights and math) |
dispatch.py (permute -> experts -> combine) | losses.py (routing losses) |
layer.py (MoELayer) | upcycle.py (dense -> experts) | stats.py (load and
co-activation counts) | aux_losses.py (collect losses over a model).
"""
from .aux_losses import clear_moe_aux_losses, moe_layers, pop_moe_aux_losses
from .dispatch import DISPATCH_MODES, dispatch, select_dispatch
from .experts import GroupedExperts
from .layer import MoELayer
from .losses import load_balancing_loss, router_z_loss
from .router import ROUTERS, RouterOutput, TopKRouter, build_router
from .stats import RoutingStats
from .upcycle import split_dense_mlp, upcycle_dense_mlp, upcycled_router_weight

__all__ = [
    'DISPATCH_MODES', 'GroupedExperts', 'MoELayer', 'ROUTERS', 'RouterOutput',
    'RoutingStats', 'TopKRouter', 'build_router', 'clear_moe_aux_losses',
    'dispatch', 'load_balancing_loss', 'moe_layers', 'pop_moe_aux_losses',
    'router_z_loss', 'select_dispatch', 'split_dense_mlp',
    'upcycle_dense_mlp', 'upcycled_router_weight'
]
