"""Write the built-in synthetic detection benchmark (COCO format).

Example::

    python tools/make_synthetic.py data/synthetic --seed 0
"""
import sys

from mmdet_dynmoe.synthetic.__main__ import main

if __name__ == '__main__':
    sys.exit(main())
