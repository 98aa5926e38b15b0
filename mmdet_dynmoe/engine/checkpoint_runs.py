"""One analysis tool over several checkpoints (e.g. one per training seed).

The layout every such tool shares: one checkpoint writes into ``out``;
several each write into ``out/run<i>/``, with a ``[i/n]`` progress line, and
the tool's summary over them lists which run was which checkpoint.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Any, Callable, Sequence


def over_checkpoints(checkpoints: Sequence[str], out: str,
                     run: Callable[[str, str], Any]) -> list:
    """``run(checkpoint, out_dir)`` for every checkpoint, in order.

    Returns:
        What each call returned.
    """
    many = len(checkpoints) > 1
    results = []
    for i, checkpoint in enumerate(checkpoints):
        if many:
            print(f'[{i + 1}/{len(checkpoints)}] {checkpoint}', flush=True)
        results.append(
            run(checkpoint,
                osp.join(out, f'run{i}') if many else out))
    return results


def run_names(checkpoints: Sequence[str]) -> list[str]:
    """``run0``, ``run1``, ...: the folder (and column) name of each."""
    return [f'run{i}' for i in range(len(checkpoints))]


def runs_legend(checkpoints: Sequence[str]) -> str:
    """Markdown list: which run folder holds which checkpoint."""
    return '\n'.join(
        f'- {name}: `{checkpoint}`'
        for name, checkpoint in zip(run_names(checkpoints), checkpoints))


def write_seeds_summary(out: str, text: str, summary: dict) -> None:
    """The summary over the runs: ``out/seeds.md`` (``text``) and
    ``out/seeds.json`` (``summary``)."""
    os.makedirs(out, exist_ok=True)
    with open(osp.join(out, 'seeds.md'), 'w') as f:
        f.write(text)
    with open(osp.join(out, 'seeds.json'), 'w') as f:
        json.dump(summary, f, indent=2)
