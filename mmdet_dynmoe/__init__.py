"""mmdet_dynmoe: dynamic object detection for MMDetection 3.x.

Importing the package (directly or through
``custom_imports=dict(imports=['mmdet_dynmoe'])``) fixes the known breakages
of the supported stack (see :mod:`mmdet_dynmoe.compat`) and registers every
component into mmdet's registries.
"""
from . import compat  # noqa: F401  (first: fixes apply before anything loads)
from . import (damex, datasets, dynamicdet, engine, models,  # noqa: F401
               registry)
from .config_files import config_file, register_config_scope
from .text_encoder import minilm_path
from .version import __version__

register_config_scope()

__all__ = ['__version__', 'config_file', 'minilm_path']
