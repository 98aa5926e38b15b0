"""FLOPs of DynamicDet's two static inference paths.

Path 1 is backbone 1 + router + detector 1; path 2 is backbone 1 + router +
backbone 2 + detector 2. A dynamic run at hard ratio ``k`` costs
``flops1 + k * (flops2 - flops1)`` per image on average.
"""
from __future__ import annotations

from typing import Any, Optional

from mmdet.structures import SampleList
from mmengine.analysis import FlopAnalyzer
from torch import Tensor, nn


def _tensors(value: Any) -> list[Tensor]:
    """Every tensor inside nested tuples / lists / dicts, in order."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [t for v in value for t in _tensors(v)]
    return []


class _StaticPath(nn.Module):
    """One path of a DynamicDetector as a tensor-in, tensors-out module."""

    def __init__(self, model: nn.Module, path: int,
                 data_samples: Optional[SampleList]) -> None:
        super().__init__()
        self.model = model
        self.path = path
        self.data_samples = data_samples  # two-stage heads need img metas

    def forward(self, inputs: Tensor) -> tuple[Tensor, ...]:
        out = self.model.path_forward(inputs, self.path, self.data_samples)
        return tuple(_tensors(out))


def path_flops(model: nn.Module,
               inputs: Tensor,
               data_samples: Optional[SampleList] = None) -> dict[int, float]:
    """FLOPs per image of path 1 and path 2 (fvcore-style counting).

    Args:
        model: a :class:`DynamicDetector` (in eval mode).
        inputs: (1, 3, H, W) one preprocessed image.
        data_samples: its sample (needed by two-stage detectors).

    Returns:
        ``{1: flops1, 2: flops2}`` (multiply-adds, as mmengine counts).
    """
    if inputs.dim() != 4 or inputs.shape[0] != 1:
        raise ValueError(f'path_flops expects one image (1, 3, H, W), got '
                         f'{tuple(inputs.shape)}')
    flops = {}
    for path in (1, 2):
        analyzer = FlopAnalyzer(
            _StaticPath(model, path, data_samples), inputs=(inputs, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        flops[path] = float(analyzer.total())
    return flops
