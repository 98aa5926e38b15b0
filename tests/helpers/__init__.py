"""Shared test helpers (the tests' only helper module; fixtures are in
tests/conftest.py). ``tests/`` is on ``sys.path`` (setup.cfg: pythonpath),
so every test imports them as ``from helpers import ...``."""
from .configs import (REPO_ROOT, assert_same_val_predictions, load_tool,
                      save_initialised_checkpoint, synthetic_dataset, tiny_cfg,
                      tiny_dino_cfg)

__all__ = [
    'REPO_ROOT', 'load_tool', 'assert_same_val_predictions',
    'save_initialised_checkpoint', 'synthetic_dataset', 'tiny_cfg',
    'tiny_dino_cfg'
]
