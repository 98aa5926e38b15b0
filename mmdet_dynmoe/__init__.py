"""mmdet_dynmoe: dynamic object detection for MMDetection 3.x.

Importing the package (directly or through
``custom_imports=dict(imports=['mmdet_dynmoe'])``) fixes the known breakages
of the supported stack (see :mod:`mmdet_dynmoe.compat`) and registers every
component into mmdet's registries.
"""
from . import compat  # noqa: F401  (first: fixes apply before anything loads)
from . import datasets, engine, models  # noqa: F401
from .version import __version__

__all__ = ['__version__']
