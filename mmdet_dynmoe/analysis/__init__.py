from .coactivation import ExpertPartners, partners_table, summarize_layer
from .dataset_routing import expert_load_by_dataset, routing_purity
from .routing_run import val_with_routing_stats
from .scene_groups import domain_separation, group_usage_by_domain

__all__ = [
    'ExpertPartners', 'domain_separation', 'expert_load_by_dataset',
    'group_usage_by_domain', 'partners_table', 'routing_purity',
    'summarize_layer', 'val_with_routing_stats'
]
