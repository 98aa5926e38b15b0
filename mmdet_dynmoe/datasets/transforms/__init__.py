from .tag_dataset_source import DATASET_META_KEYS, TagDatasetSource

__all__ = ['DATASET_META_KEYS', 'TagDatasetSource']
