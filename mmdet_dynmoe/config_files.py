"""Our configs as a config package: ``mmdet_dynmoe::<folder>/<config>.py``.

The repository's ``configs/`` ships inside the package as
``mmdet_dynmoe/.mim/configs`` (copied into wheels, linked for editable
installs; see setup.py), the way mmdet ships its own. Two ways to inherit
them from another project:

- ``_base_ = 'mmdet_dynmoe::moe/<config>.py'`` once ``mmdet_dynmoe`` is
  imported before the config is parsed: our ``tools/train.py`` /
  ``tools/test.py`` and ``mim train/test mmdet_dynmoe`` do that
  (:func:`mmdet_dynmoe.compat.config_scope.register_config_scope` runs
  on import);
- ``_base_ = __import__('mmdet_dynmoe').config_file('moe/<config>.py')``
  with stock ``mim train mmdet`` / mmdet's ``tools/train.py``: mmengine
  evaluates the ``_base_`` expression, which imports us and returns the
  file's absolute path.
"""
from __future__ import annotations

import os
import os.path as osp

PACKAGE = 'mmdet_dynmoe'
PACKAGE_DIR = osp.dirname(osp.abspath(__file__))


def config_dir() -> str:
    """Folder of the shipped configs (the repository's when run from it)."""
    shipped = osp.join(PACKAGE_DIR, '.mim', 'configs')
    if osp.isdir(shipped):
        return shipped
    return osp.join(osp.dirname(PACKAGE_DIR), 'configs')


def available_config_folders() -> list[str]:
    root = config_dir()
    if not osp.isdir(root):
        return []
    return sorted(
        d for d in os.listdir(root)
        if osp.isdir(osp.join(root, d)) and not d.startswith('_'))


def config_file(path: str) -> str:
    """Absolute path of one of our configs, e.g. ``'moe/x.py'``.

    Raises:
        FileNotFoundError: unknown path; the message lists the folders.
    """
    path = path.partition('::')[2] if '::' in path else path
    full = osp.join(config_dir(), path)
    if not osp.isfile(full):
        folder = osp.join(config_dir(), osp.dirname(path))
        inside = sorted(f for f in os.listdir(folder) if f.endswith('.py')) \
            if osp.dirname(path) and osp.isdir(folder) else []
        raise FileNotFoundError(
            f'{PACKAGE}::{path} does not exist; available config folders: '
            f'{available_config_folders()}' +
            (f'; configs in {osp.dirname(path)}/: {inside}' if inside else ''))
    return full
