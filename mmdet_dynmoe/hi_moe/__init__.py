"""HI-MoE: hierarchical scene -> instance routing (arXiv 2604.04908).

Map:

- ``hierarchical_router.py``: :class:`HierarchicalRouter` (plain PyTorch,
  a router of the MoE engine, ``router_cfg=dict(type='HierarchicalRouter',
  ...)``): a scene router keeps ``top_groups`` expert groups per image from
  the mean of the image's context tokens, an instance router keeps
  ``top_k`` experts inside them per token. It owns its losses: group-level
  balancing and :func:`scene_diversity_loss`.
- ``scene_groups.py``: which groups each domain's images use
  (``tools/analyze_scene_groups.py``).

HI-MoE needs no detector of its own: ``MoEDINO`` with ``moe_cfg`` builds
the layers, and the token masks that keep padding out of the routing and
denoising queries out of the scene summary come from the shared adapter
(:mod:`mmdet_dynmoe.models.token_masks`).

Config keys it adds, all in ``moe_cfg.router_cfg``: ``num_groups``,
``top_groups``, ``temperature``, ``group_routing``, ``expert_routing``,
``scene_to_instance``, ``renormalize_combined``,
``group_balance_loss_weight``, ``diversity_loss_weight``. Configs:
``configs/hi_moe/``.
"""
from .hierarchical_router import HierarchicalRouter, scene_diversity_loss
from .scene_groups import domain_separation, group_usage_by_domain

__all__ = [
    'HierarchicalRouter', 'domain_separation', 'group_usage_by_domain',
    'scene_diversity_loss'
]
