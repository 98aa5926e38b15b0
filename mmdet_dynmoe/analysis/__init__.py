from .coactivation import ExpertPartners, partners_table, summarize_layer

__all__ = ['ExpertPartners', 'partners_table', 'summarize_layer']
