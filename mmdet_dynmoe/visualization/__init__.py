"""Plots of the analysis tools."""
from .heatmap import Panel, heatmap_row

__all__ = ['Panel', 'heatmap_row']
