"""RNGStateHook: ``--resume`` continues the random streams, not only weights."""
from __future__ import annotations

import random

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook

#: the checkpoint entry holding the generator states
KEY = 'rng_states'


def rng_states() -> dict:
    """The states of python's, numpy's, torch's and (if any) CUDA's global
    generators."""
    states = dict(
        python=random.getstate(),
        numpy=np.random.get_state(),
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        states['cuda'] = torch.cuda.get_rng_state_all()
    return states


def set_rng_states(states: dict) -> None:
    """Restore what :func:`rng_states` returned."""
    random.setstate(states['python'])
    np.random.set_state(states['numpy'])
    torch.set_rng_state(states['torch'])
    if 'cuda' in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states['cuda'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save the random generators' states with each checkpoint and restore
    them on ``--resume``.

    mmengine 0.10.7 keeps the model, optimizer, schedulers and message hub
    in a checkpoint but not the generators, so a resumed run draws other
    random numbers than the uninterrupted one from the first resumed
    iteration on (DINO's denoising queries, noisy gates, drop path). With
    this hook a run killed after a checkpoint and resumed equals the
    uninterrupted run (tests/engine/test_rng_state_hook.py: every weight
    and logged loss), given ``randomness=dict(seed=..., deterministic=True)``.
    Exact for data loading in worker processes (the workers are re-seeded
    identically); with ``num_workers=0`` a *random* pipeline's draws for
    the batches mmengine skips on resume come from the restored state too.
    ``load_from`` without ``--resume`` restores nothing.

    Validation leaves the training streams as it found them (its states are
    restored after it): mmengine validates right after saving a
    checkpoint, so otherwise the uninterrupted run would draw training
    numbers after the validation at the checkpoint and the resumed one
    without it (a DataLoader iterator draws its seed from torch's global
    generator).

    Use in any config: ``default_hooks = dict(rng_state=dict(type=
    'RNGStateHook'))`` (our CPU configs have it).
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._before_val: dict | None = None

    def before_val(self, runner) -> None:
        self._before_val = rng_states()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_rng_states(self._before_val)
            self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint[KEY] = rng_states()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if getattr(runner, '_resume', False) and KEY in checkpoint:
            set_rng_states(checkpoint[KEY])
