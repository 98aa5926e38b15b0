from .moe_ffn import MoEFFN
from .upcycle_ffns import find_ffns, upcycle_ffns

__all__ = ['MoEFFN', 'find_ffns', 'upcycle_ffns']
