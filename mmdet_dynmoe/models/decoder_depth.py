"""Test-time decoder depth for DETR-family detectors (variable speed).

DETR-family detectors train a prediction head on every decoder layer, so at
test time the predictions can come from an earlier layer. Two keys of the
detector's ``test_cfg``, set in the config or on a trained model (e.g.
``--cfg-options model.test_cfg.decoder_depth=2``); training always runs every
layer:

- ``decoder_depth=d``: only the first ``d`` decoder layers run and the head
  of layer ``d`` predicts; the layers after it are not computed.
- ``decoder_exit=tau`` (per-image early exit, DINO-style decoders): after
  each layer ``l >= 1`` an image leaves the decoder when its predictions
  stopped changing, i.e. when

      max over its queries q of | p_l(q) - p_{l-1}(q) | < tau,

  ``p_l(q)`` being query ``q``'s best class probability from layer ``l``'s
  head (the score its detection would get) and ``p_0(q)`` the score of the
  encoder proposal that selected the query (two-stage DINO). Its
  predictions are then layer ``l``'s, exactly as ``decoder_depth=l`` gives
  for that image alone; the images still in the decoder go on as a smaller
  batch, so an image that left costs nothing more, and the results keep the
  input order. ``tau=0`` never exits early, ``tau=1`` is ``decoder_depth=1``;
  ``decoder_depth`` (if set) is the last layer.

After a forward, ``model.last_decoder_layers`` holds the (B,) number of
layers each image ran (for the sweep tools).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator, Optional

import torch
from mmdet.models.layers.transformer import (DinoTransformerDecoder,
                                             coordinate_to_encoding,
                                             inverse_sigmoid)
from torch import Tensor

#: decoder kwargs (besides the named inputs) that hold one row per image
_PER_IMAGE_KWARGS = ('memory_text', 'text_attention_mask')


def check_decoder_depth(depth: Any, num_layers: int) -> None:
    """Raise ValueError naming the key and the allowed range."""
    if isinstance(depth, bool) or not isinstance(depth, int) or \
            not 1 <= depth <= num_layers:
        raise ValueError(f'test_cfg decoder_depth={depth!r} must be an int '
                         f'in [1, {num_layers}] (the decoder has '
                         f'{num_layers} layers), or None: all')


def check_decoder_exit(tau: Any) -> None:
    """Raise ValueError naming the key and the allowed range."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or \
            not 0 <= tau <= 1:
        raise ValueError(f'test_cfg decoder_exit={tau!r} must be a number in '
                         '[0, 1] (the largest change of a query\'s class '
                         'probability at which an image leaves; 0: never '
                         'early), or None: off')


def has_dino_decoder(model: Any) -> bool:
    """Whether ``model``'s decoder is DINO-style (what the early exit runs)."""
    return isinstance(getattr(model, 'decoder', None), DinoTransformerDecoder)


class DecoderDepthMixin:
    """Adds ``test_cfg['decoder_depth']`` and ``['decoder_exit']`` to a
    DETR-family detector.

    Put it before the mmdet detector in the bases; it wraps the detector's
    ``forward_decoder`` (and ``predict`` for the early exit).
    """

    last_decoder_layers: Optional[Tensor] = None
    _exit_predictions: Optional[tuple[Tensor, Tensor]] = None
    _proposal_probs: Optional[Tensor] = None

    def _test_cfg_value(self, key: str) -> Any:
        if self.training:
            return None
        return (getattr(self, 'test_cfg', None) or {}).get(key)

    def decoder_depth(self) -> int | None:
        """The test-time depth in effect (None: every layer)."""
        depth = self._test_cfg_value('decoder_depth')
        if depth is not None:
            check_decoder_depth(depth, len(self.decoder.layers))
        return depth

    def decoder_exit(self) -> float | None:
        """The early-exit threshold in effect (None: off)."""
        tau = self._test_cfg_value('decoder_exit')
        if tau is None:
            return None
        check_decoder_exit(tau)
        if not has_dino_decoder(self):
            raise ValueError(
                f'test_cfg decoder_exit needs a DINO-style decoder '
                f'(DinoTransformerDecoder); {type(self).__name__} has '
                f'{type(self.decoder).__name__}: use decoder_depth instead')
        return float(tau)

    def predict(self, *args: Any, **kwargs: Any):
        if self.decoder_exit() is None:
            return super().predict(*args, **kwargs)
        with self._head_reads_exit_predictions():
            return super().predict(*args, **kwargs)

    @contextmanager
    def _head_reads_exit_predictions(self) -> Iterator[None]:
        """The head's forward returns what the early-exit decoder predicted
        (each image's exit layer's predictions, as the head's last layer);
        the encoder's proposal classifier hands the decoder the selected
        queries' scores (``p_0``)."""
        head = self.bbox_head

        def forward(*args: Any, **kwargs: Any) -> tuple[Tensor, Tensor]:
            return self._exit_predictions

        def proposal_scores(module, inputs, logits: Tensor) -> None:
            # (B, N, classes) -> (B, Q): the scores DINO selects queries by,
            # in the order of the queries (torch.topk sorts as DINO's does)
            self._proposal_probs = torch.topk(
                logits.max(-1)[0], k=self.num_queries, dim=1)[0].sigmoid()

        head.forward = forward
        hook = head.cls_branches[
            self.decoder.num_layers].register_forward_hook(proposal_scores)
        try:
            yield
        finally:
            del head.forward
            hook.remove()
            self._exit_predictions = self._proposal_probs = None

    def forward_decoder(self, *args: Any, **kwargs: Any) -> dict:
        depth = self.decoder_depth()
        num_layers = len(self.decoder.layers)
        tau = self.decoder_exit()
        if tau is not None:
            return self._forward_decoder_with_exit(depth or num_layers, tau,
                                                   *args, **kwargs)
        out = self._forward_decoder_to(depth or num_layers, *args, **kwargs)
        if not self.training:
            batch = out['hidden_states'].shape[1]
            self.last_decoder_layers = torch.full((batch, ), depth
                                                  or num_layers)
        return out

    def _forward_decoder_to(self, depth: int, *args: Any,
                            **kwargs: Any) -> dict:
        layers = self.decoder.layers
        if depth == len(layers):
            return super().forward_decoder(*args, **kwargs)
        # the decoder loops over self.layers; the first `depth` run
        self.decoder.layers = layers[:depth]
        try:
            return super().forward_decoder(*args, **kwargs)
        finally:
            self.decoder.layers = layers

    def _layer_predictions(self, lid: int, hidden: Tensor, reference: Tensor,
                           text: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Layer ``lid``'s head on its normed queries, as the head computes
        it: (b, Q, classes) logits and (b, Q, 4) sigmoid boxes."""
        head = self.bbox_head
        if 'memory_text' in text:  # Grounding DINO: contrastive classes
            cls = head.cls_branches[lid](hidden, text['memory_text'],
                                         ~text['text_attention_mask'])
        else:
            cls = head.cls_branches[lid](hidden)
        coords = (head.reg_branches[lid](hidden) +
                  inverse_sigmoid(reference)).sigmoid()
        return cls, coords

    def _forward_decoder_with_exit(self,
                                   max_depth: int,
                                   tau: float,
                                   query: Tensor,
                                   memory: Tensor,
                                   memory_mask: Tensor,
                                   reference_points: Tensor,
                                   spatial_shapes: Tensor,
                                   level_start_index: Tensor,
                                   valid_ratios: Tensor,
                                   dn_mask: Optional[Tensor] = None,
                                   **kwargs: Any) -> dict:
        """DINO's decoder loop with per-image early exit (test time).

        Shapes: query (B, Q, C), memory (B, N, C), memory_mask (B, N),
        reference_points (B, Q, 4), valid_ratios (B, levels, 2). Stores each
        image's exit-layer predictions for the head and returns the last
        hidden states / references in DINO's format (one layer).
        """
        decoder = self.decoder
        reg_branches = self.bbox_head.reg_branches
        batch = query.shape[0]
        text = {k: kwargs.pop(k) for k in _PER_IMAGE_KWARGS if k in kwargs}
        active = torch.arange(batch, device=query.device)
        exit_layers = torch.full((batch, ), max_depth, dtype=torch.long)
        out_cls = out_coords = out_hidden = out_refs = None
        prev_probs = getattr(self, '_proposal_probs', None)  # (B, Q) or None
        for lid in range(max_depth):
            ref_input = reference_points[:, :, None] * torch.cat(
                [valid_ratios, valid_ratios], -1)[:, None]
            query_pos = decoder.ref_point_head(
                coordinate_to_encoding(ref_input[:, :, 0, :]))
            query = decoder.layers[lid](
                query,
                query_pos=query_pos,
                value=memory,
                key_padding_mask=memory_mask,
                self_attn_mask=dn_mask,
                spatial_shapes=spatial_shapes,
                level_start_index=level_start_index,
                valid_ratios=valid_ratios,
                reference_points=ref_input,
                **text,
                **kwargs)
            hidden = decoder.norm(query)
            cls, coords = self._layer_predictions(lid, hidden,
                                                  reference_points, text)
            probs = cls.sigmoid().amax(-1)  # (b, Q) best class probability
            if lid == max_depth - 1:
                leave = torch.ones_like(active, dtype=torch.bool)
            elif prev_probs is None:
                leave = torch.zeros_like(active, dtype=torch.bool)
            else:
                change = (probs - prev_probs).abs().amax(-1)
                leave = change < tau
            if out_cls is None:
                out_cls = cls.new_zeros((batch, ) + cls.shape[1:])
                out_coords = coords.new_zeros((batch, ) + coords.shape[1:])
                out_hidden = hidden.new_zeros((batch, ) + hidden.shape[1:])
                out_refs = reference_points.new_zeros(
                    (batch, ) + reference_points.shape[1:])
            if leave.any():
                rows = active[leave]
                out_cls[rows] = cls[leave]
                out_coords[rows] = coords[leave]
                out_hidden[rows] = hidden[leave]
                out_refs[rows] = reference_points[leave]
                exit_layers[rows.cpu()] = lid + 1
            stay = ~leave
            if not stay.any():
                break
            new_refs = (reg_branches[lid](query) +
                        inverse_sigmoid(reference_points, eps=1e-3)).sigmoid()
            active, query, reference_points = (active[stay], query[stay],
                                               new_refs[stay])
            memory = memory[stay]
            memory_mask = None if memory_mask is None else memory_mask[stay]
            valid_ratios, prev_probs = valid_ratios[stay], probs[stay]
            text = {k: v[stay] for k, v in text.items()}
        self.last_decoder_layers = exit_layers
        self._exit_predictions = (out_cls[None], out_coords[None])
        return dict(hidden_states=out_hidden[None], references=[out_refs])
