"""Run mmdet's own ``tools/*.py`` scripts with mmdet_dynmoe imported first.

Our ``tools/train.py`` and ``tools/test.py`` (also what ``mim train
mmdet_dynmoe`` / ``mim test mmdet_dynmoe`` run) are these thin wrappers, so
their command lines are exactly mmdet's.
"""
from __future__ import annotations

import os.path as osp
import runpy

import mmdet


def mmdet_tool_path(name: str) -> str:
    """Path of mmdet's ``tools/{name}.py`` shipped in its ``.mim`` folder."""
    path = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', f'{name}.py')
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'mmdet {mmdet.__version__} has no {path}; reinstall mmdet>=3.0 '
            'from a wheel or sdist (its tools ship inside the package)')
    return path


def run_mmdet_tool(name: str) -> None:
    """Execute mmdet's ``tools/{name}.py`` as ``__main__`` (reads sys.argv)."""
    import mmdet_dynmoe  # noqa: F401  (registers components, stack fixes)
    runpy.run_path(mmdet_tool_path(name), run_name='__main__')
