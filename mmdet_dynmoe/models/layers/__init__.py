from .ffn_replacement import (WHERE_ALIASES, apply_moe_cfg, find_ffns,
                              upcycle_ffns)
from .moe_ffn import MoEFFN

__all__ = [
    'MoEFFN', 'WHERE_ALIASES', 'apply_moe_cfg', 'find_ffns', 'upcycle_ffns'
]
