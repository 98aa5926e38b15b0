from .synthetic_coco_dataset import SyntheticCocoDataset

__all__ = ['SyntheticCocoDataset']
