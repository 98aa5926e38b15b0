"""mmdet's tools/train.py with mmdet_dynmoe registered; same arguments.

Example::

    python tools/train.py configs/baseline/dino_r18-tiny_3e_synthetic-mixed.py
"""
from mmdet_dynmoe.mmdet_tools import run_mmdet_tool

if __name__ == '__main__':
    run_mmdet_tool('train')
