"""mmdet_dynmoe: dynamic object detection for MMDetection 3.x.

Importing the package (directly or through
``custom_imports=dict(imports=['mmdet_dynmoe'])``) fixes the known breakages
of the supported stack (see :mod:`mmdet_dynmoe.compat`) and registers every
component into mmdet's registries.

Layout: one folder per method (``dynamic_dino/``, ``hi_moe/``,
``dynamicdet/``, ``damex/``; each ``__init__`` is the method's map), the
MoE engine (``moe/``, plain PyTorch), the mmdet adapters of the engine
(``models/``), and shared pieces by kind (``datasets/``, ``evaluation/``,
``engine/``, ``visualization/``, ``compat/``, ``synthetic/``,
``testing/``).
"""
# isort: off
from . import compat  # (first: fixes apply before anything loads)
# Importing each package registers its components into mmdet's registries.
from . import damex, datasets, dynamic_dino, dynamicdet  # noqa: F401
from . import engine, evaluation, hi_moe, models, registry  # noqa: F401
# isort: on
from .config_files import config_file
from .dynamic_dino import minilm_path
from .version import __version__

compat.moved_modules.install_moved_names()  # the packages exist now

__all__ = ['__version__', 'config_file', 'minilm_path']
