"""``--resume`` with nothing to resume applies the config's ``load_from``.

mmdet 3.3's ``tools/train.py`` (what ``mim train mmdet`` and our
``tools/train.py`` run) turns ``--resume`` into ``cfg.resume = True`` and
``cfg.load_from = None``; mmengine's ``Runner.load_or_resume`` then looks
for the latest checkpoint in the work dir and, finding none, starts from
scratch ("Auto resumed from the latest checkpoint None"). For a config whose
``load_from`` is its starting point (MoE-Tuning's dense model, DynamicDet's
step 1) that silently throws the start away. This fix changes exactly that
case: resume requested, no ``load_from`` left, no checkpoint in the work
dir, and the config file names a ``load_from``: that checkpoint is loaded
(not resumed), with a warning. Every other case is mmengine's.
"""
from __future__ import annotations

import os.path as osp
from typing import Optional


def configured_load_from(cfg) -> Optional[str]:
    """``load_from`` of the config file ``cfg`` was read from, if any."""
    from mmengine.config import Config
    filename = getattr(cfg, 'filename', None)
    if not filename or not osp.isfile(filename):
        return None
    return Config.fromfile(filename).get('load_from')


def apply() -> None:
    """Wrap ``Runner.load_or_resume`` (idempotent)."""
    from mmengine.runner import Runner, find_latest_checkpoint
    if getattr(Runner.load_or_resume, '_dynmoe', False):
        return
    original = Runner.load_or_resume

    def load_or_resume(self) -> None:
        if (not self._has_loaded and self._resume and self._load_from is None
                and find_latest_checkpoint(self.work_dir) is None):
            load_from = configured_load_from(self.cfg)
            if load_from:
                self.logger.warning(
                    f'--resume: no checkpoint in {self.work_dir} to resume '
                    f'from; starting from the config\'s load_from='
                    f'{load_from} instead (loaded, not resumed)')
                self._resume = False
                self._load_from = load_from
        return original(self)

    load_or_resume._dynmoe = True
    load_or_resume._original = original
    Runner.load_or_resume = load_or_resume
