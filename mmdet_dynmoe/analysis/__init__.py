from .coactivation import ExpertPartners, partners_table, summarize_layer
from .scene_groups import domain_separation, group_usage_by_domain

__all__ = [
    'ExpertPartners', 'domain_separation', 'group_usage_by_domain',
    'partners_table', 'summarize_layer'
]
