"""Test-time speed knobs: what a trained model can trade, and one way to set them.

A *knob* changes a trained model's compute at test time without retraining.
Which ones a model has follows from what it is:

====================  =============================  =========================
knob                  where it lives                 models
====================  =============================  =========================
``decoder_depth``     ``model.test_cfg``             DETR family of ours
``decoder_exit``      ``model.test_cfg``             DINO-style decoders
``test_top_k``        every ``MoELayer``             models with MoE layers
``test_top_p``        every ``MoELayer``             models with MoE layers
``threshold``         ``model.threshold``            DynamicDet
====================  =============================  =========================

A DynamicDet whose detectors are DETRs of ours has the decoder knobs too,
set on both detectors' ``test_cfg`` (:func:`decoder_owners`).

(``models/decoder_depth.py``, ``moe/expert_budget.py``,
``dynamicdet/calibration.py`` say what each does.) A setting is a plain dict
such as ``{'decoder_depth': 2, 'test_top_k': 1}``; :func:`apply_speed_knobs`
checks every value against the model's range and sets it.
tools/calibrate_speed.py (and tools/calibrate_dynamicdet.py) write the chosen
setting to ``<checkpoint stem>.speed.json``; :class:`SpeedKnobsHook` applies
that file at ``mim test`` / tools/test.py.
"""
from __future__ import annotations

import json
import os.path as osp
from typing import Any, Optional

from torch import nn

from mmdet_dynmoe.models.decoder_depth import (DecoderDepthMixin,
                                               check_decoder_depth,
                                               check_decoder_exit,
                                               has_dino_decoder)
from mmdet_dynmoe.moe import moe_layers
from mmdet_dynmoe.moe.expert_budget import check_expert_budget

#: suffix of the knob file next to a checkpoint (``x.pth`` -> ``x.speed.json``)
SPEED_SUFFIX = '.speed.json'
#: grid values a sweep tries when not told (None: the knob off / full)
DEFAULT_EXIT_TAUS = (0.3, 0.1, 0.03, 0.01)
# (p is over the router's whole distribution: with many experts and a flat
# router the top-k mass is small, so only small p drop an expert)
DEFAULT_TOP_PS = (0.8, 0.5, 0.2, 0.05)


def speed_file(checkpoint: str) -> str:
    """Where the knob setting of ``checkpoint`` lives."""
    return osp.splitext(checkpoint)[0] + SPEED_SUFFIX


def _is_dynamicdet(model: nn.Module) -> bool:
    return hasattr(model, 'threshold') and hasattr(model, 'router_scores')


def decoder_owners(model: nn.Module) -> list[nn.Module]:
    """The detectors the decoder knobs set: ``model`` itself, or both of
    DynamicDet's detectors when they are DETRs of ours (e.g.
    ``detector_type='MoEDINO'``)."""
    if isinstance(model, DecoderDepthMixin):
        return [model]
    if _is_dynamicdet(model):
        return [
            d for d in (model.detector1, model.detector2)
            if isinstance(d, DecoderDepthMixin)
        ]
    return []


def _min_top_k(model: nn.Module) -> int:
    return min(layer.top_k for _, layer in moe_layers(model))


def speed_knobs(model: nn.Module) -> dict[str, list]:
    """The knobs ``model`` has, each with the values a sweep tries by default
    (first the full setting, None = off / everything)."""
    knobs: dict[str, list] = {}
    owners = decoder_owners(model)
    if owners:
        layers = min(len(d.decoder.layers) for d in owners)
        knobs['decoder_depth'] = [None] + list(range(layers - 1, 0, -1))
        if all(has_dino_decoder(d) for d in owners):
            knobs['decoder_exit'] = [None, *DEFAULT_EXIT_TAUS]
    if moe_layers(model) and _min_top_k(model) > 1:  # top-1: nothing to cut
        knobs['test_top_k'] = [None] + list(
            range(_min_top_k(model) - 1, 0, -1))
        knobs['test_top_p'] = [None, *DEFAULT_TOP_PS]
    if _is_dynamicdet(model):
        knobs['threshold'] = [None]  # per-model: see tools/sweep_dynamicdet
    return knobs


def _set_test_cfg(model: nn.Module, key: str, value: Any) -> None:
    test_cfg = dict(model.test_cfg or {})
    test_cfg[key] = value
    model.test_cfg = test_cfg


def apply_speed_knobs(model: nn.Module, knobs: dict[str, Any]) -> None:
    """Set ``knobs`` (name -> value, None = off) on ``model``.

    Raises ValueError naming the knob and its allowed range for a value out
    of range, or the knobs this model has for an unknown name.
    """
    available = speed_knobs(model)
    for name, value in knobs.items():
        if name not in available:
            raise ValueError(
                f'speed knob {name!r} does not exist for '
                f'{type(model).__name__}; its knobs: {sorted(available)}' +
                ('' if isinstance(model, DecoderDepthMixin) else
                 ' (a stock mmdet DETR gets decoder_depth / decoder_exit '
                 "as type='MoEDINO' without moe_cfg)"))
        if name in ('decoder_depth', 'decoder_exit'):
            for owner in decoder_owners(model):
                if value is not None and name == 'decoder_depth':
                    check_decoder_depth(value, len(owner.decoder.layers))
                elif value is not None:
                    check_decoder_exit(value)
                _set_test_cfg(owner, name, value)
        elif name in ('test_top_k', 'test_top_p'):
            for _, layer in moe_layers(model):
                top_k = value if name == 'test_top_k' else layer.test_top_k
                top_p = value if name == 'test_top_p' else layer.test_top_p
                check_expert_budget(layer.top_k, top_k, top_p)
                setattr(layer, name, value)
        elif name == 'threshold':
            from mmdet_dynmoe.dynamicdet.calibration import check_threshold
            if value is None:
                raise ValueError('speed knob threshold needs a value in '
                                 '[0, 1]')
            model.threshold = check_threshold(value)


def current_speed_knobs(model: nn.Module) -> dict[str, Any]:
    """The value of every knob of ``model`` now (None = off / full)."""
    out: dict[str, Any] = {}
    owners = decoder_owners(model)
    test_cfg = (owners[0].test_cfg if owners else None) or {}
    layers = moe_layers(model)
    for name in speed_knobs(model):
        if name in ('decoder_depth', 'decoder_exit'):
            out[name] = test_cfg.get(name)
        elif name in ('test_top_k', 'test_top_p'):
            out[name] = getattr(layers[0][1], name)
        else:
            out[name] = model.threshold
    return out


def parse_knob_value(text: str) -> Any:
    """A knob value typed on a command line: ``none`` -> None, ``3`` -> 3,
    ``0.5`` -> 0.5."""
    if text.lower() == 'none':
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def parse_knob_grid(specs: list[str]) -> dict[str, list]:
    """``['decoder_depth=1,2', ...]`` -> ``{'decoder_depth': [1, 2]}``."""
    grid = {}
    for spec in specs:
        name, sep, values = spec.partition('=')
        if not sep or not values:
            raise ValueError(f'knob grid {spec!r}: expected NAME=V1,V2,...')
        grid[name] = [parse_knob_value(v) for v in values.split(',')]
    return grid


def write_speed_file(path: str, knobs: dict[str, Any], **info: Any) -> None:
    """Write a knob setting (and what it was chosen for) as JSON."""
    with open(path, 'w') as f:
        json.dump(dict(knobs=knobs, **info), f, indent=2)


def read_speed_file(path: str) -> dict[str, Any]:
    """The ``knobs`` of a file written by :func:`write_speed_file`."""
    with open(path) as f:
        data = json.load(f)
    if not isinstance(data.get('knobs'), dict):
        raise ValueError(f'{path} has no "knobs" mapping: not a speed-knob '
                         'file (tools/calibrate_speed.py writes them)')
    return data['knobs']


def find_speed_file(setting: Optional[str],
                    checkpoint: Optional[str]) -> Optional[str]:
    """``setting``: ``'auto'`` (the file next to ``checkpoint`` if it
    exists), a path (must exist), or None."""
    if setting == 'auto':
        path = speed_file(checkpoint) if checkpoint else None
        return path if path and osp.isfile(path) else None
    if setting and not osp.isfile(setting):
        raise FileNotFoundError(f'speed-knob file {setting} does not exist')
    return setting
