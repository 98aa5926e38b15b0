"""Test-time decoder depth for DETR-family detectors (variable speed).

DETR-family detectors train a prediction head on every decoder layer, so at
test time the predictions can come from an earlier layer: with
``test_cfg=dict(decoder_depth=d)`` only the first ``d`` decoder layers run
and the head of layer ``d`` predicts. The layers after it are not computed.
Set it in the config or on a trained model, e.g. ``--cfg-options
model.test_cfg.decoder_depth=4``; training always runs every layer.
"""
from __future__ import annotations

from typing import Any


def check_decoder_depth(depth: Any, num_layers: int) -> None:
    """Raise ValueError naming the key and the allowed range."""
    if isinstance(depth, bool) or not isinstance(depth, int) or \
            not 1 <= depth <= num_layers:
        raise ValueError(f'test_cfg decoder_depth={depth!r} must be an int '
                         f'in [1, {num_layers}] (the decoder has '
                         f'{num_layers} layers), or None: all')


class DecoderDepthMixin:
    """Adds ``test_cfg['decoder_depth']`` to a DETR-family detector.

    Put it before the mmdet detector in the bases; it wraps the detector's
    ``forward_decoder``.
    """

    def decoder_depth(self) -> int | None:
        """The test-time depth in effect (None: every layer)."""
        if self.training:
            return None
        depth = (getattr(self, 'test_cfg', None) or {}).get('decoder_depth')
        if depth is not None:
            check_decoder_depth(depth, len(self.decoder.layers))
        return depth

    def forward_decoder(self, *args: Any, **kwargs: Any) -> dict:
        depth = self.decoder_depth()
        if depth is None or depth == len(self.decoder.layers):
            return super().forward_decoder(*args, **kwargs)
        layers = self.decoder.layers
        # the decoder loops over self.layers; the first `depth` run
        self.decoder.layers = layers[:depth]
        try:
            return super().forward_decoder(*args, **kwargs)
        finally:
            self.decoder.layers = layers
