"""Helpers for testing configs without the real datasets."""
from .dataset_layouts import write_layout_fixture, write_voc_fixture

__all__ = ['write_layout_fixture', 'write_voc_fixture']
