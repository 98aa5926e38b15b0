"""Shared fixtures (helpers are in tests/helpers/): a tiny synthetic dataset
written once per test session, the default scope, the repository as cwd;
the ``cuda`` marker skips without a GPU."""
from __future__ import annotations

import os

import pytest

from mmdet_dynmoe.synthetic import SyntheticSpec, generate
from helpers import REPO_ROOT

# Tiny but covering every domain and the zero-shot split.
TINY_SPEC = SyntheticSpec(num_train=6, num_val=3, num_zeroshot=3)


@pytest.fixture(scope='session')
def tiny_synthetic(tmp_path_factory) -> str:
    """Data root of a tiny synthetic benchmark (seed 0)."""
    root = str(tmp_path_factory.mktemp('synthetic'))
    generate(root, TINY_SPEC, seed=0)
    return root


@pytest.fixture(autouse=True)
def mmdet_default_scope():
    """Build registry configs in the ``mmdet`` scope in every test.

    A Runner built by an earlier test leaves its own default scope (e.g.
    ``mmengine``) as the current one, which would make later
    ``DATASETS.build(...)`` calls depend on test order.
    """
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        yield


@pytest.fixture
def in_repo_root(monkeypatch):
    """Run with the repository as working directory (configs use data/...)."""
    monkeypatch.chdir(REPO_ROOT)
    return REPO_ROOT


def pytest_configure(config):
    # Keep subprocess and in-process runs on the CPU and quiet, unless the
    # run selects the CUDA tests (-m cuda) on a machine that has a GPU.
    if 'cuda' not in (config.option.markexpr or ''):
        os.environ.setdefault('CUDA_VISIBLE_DEVICES', '')


def pytest_collection_modifyitems(config, items):
    import torch
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(skip)
