"""DETR-family detectors whose chosen FFNs are MoEFFNs (``moe_cfg``).

mmdet's DINO and Deformable DETR layers instantiate mmcv's ``FFN``
directly, so ``ffn_cfg=dict(type='MoEFFN')`` cannot reach them.
:class:`MoEDetectorMixin` adds one key, ``moe_cfg`` (see
:func:`~mmdet_dynmoe.models.ffn_replacement.apply_moe_cfg`): the stock
detector is built, then the named FFNs are replaced; everything else is the
stock detector. Its ``loss()`` adds the MoE layers' routing losses to the
stock loss dict, and ``load_from`` a *dense* checkpoint upcycles its FFN
weights on the fly (MoE-Tuning starts exactly at the dense model).

Methods subclass these: HI-MoE and the plain MoE configs use
:class:`MoEDINO` as it is, DAMEX extends it
(:class:`mmdet_dynmoe.damex.DAMEXDINO`), Dynamic-DINO applies the mixin to
Grounding DINO (:class:`mmdet_dynmoe.dynamic_dino.MoEGroundingDINO`).
"""
from __future__ import annotations

from typing import Optional, Sequence

from mmdet.models.detectors import DINO, DeformableDETR
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.logging import print_log
from torch import Tensor

from mmdet_dynmoe.moe import (clear_moe_aux_losses, moe_layers,
                              pop_moe_aux_losses)
from mmdet_dynmoe.moe.collect import check_reduction
from .decoder_depth import DecoderDepthMixin
from .ffn_replacement import apply_moe_cfg
from .freezing import freeze_except
from .routing_loss_collector import add_routing_losses


class MoEDetectorMixin:
    """Adds ``moe_cfg`` and ``trainable`` to a DETR-family detector.

    Args:
        moe_cfg: where and how FFNs become MoE layers (see
            :func:`apply_moe_cfg`). ``None`` keeps the stock dense detector
            (e.g. the dense fine-tuning baseline of MoE-Tuning, with the
            same frozen parts).
        trainable: fnmatch patterns over parameter names (``'moe'`` for
            every MoE layer); all other parameters are frozen at build time,
            before the optimizer and DDP see them, and a trainable/frozen
            table is logged.
        moe_loss_reduction: how each routing loss combines over the MoE
            layers in the loss dict: ``'sum'`` (default) or ``'mean'``.
    """

    def __init__(self,
                 *args,
                 moe_cfg: Optional[dict] = None,
                 trainable: Optional[Sequence[str]] = None,
                 moe_loss_reduction: str = 'sum',
                 **kwargs) -> None:
        check_reduction(moe_loss_reduction)  # fail before building
        super().__init__(*args, **kwargs)  # the stock detector
        self.moe_cfg = moe_cfg
        self.moe_loss_reduction = moe_loss_reduction
        self.moe_ffn_names = apply_moe_cfg(
            self, moe_cfg,
            collect_losses=False) if moe_cfg is not None else []
        for _, layer in moe_layers(self):
            layer.record_aux = True  # taken by loss() below
        self.trainable = trainable
        if trainable is not None:
            table = freeze_except(self, trainable)
            print_log(
                f'{type(self).__name__}: trainable {list(trainable)}\n'
                f'{table}',
                logger='current')

    def init_weights(self) -> None:
        # The stock init re-draws every >1-D transformer parameter with
        # xavier, which is meaningless for stacked (E, C, H) expert weights;
        # give the MoE layers their own init afterwards. (A dense checkpoint
        # loaded later overwrites both, upcycled.)
        super().init_weights()
        for _, layer in moe_layers(self):
            layer.reset_parameters()

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict:
        """The stock detector's losses plus the MoE layers' routing losses
        (``loss_moe_balance``, ``loss_moe_z``, the router's own, and the
        logged ``moe_dropped_slots``)."""
        clear_moe_aux_losses(self)  # left by a pass that reached no loss
        losses = super().loss(batch_inputs, batch_data_samples)
        return add_routing_losses(
            losses,
            pop_moe_aux_losses(self, reduction=self.moe_loss_reduction))


@MODELS.register_module()
class MoEDINO(MoEDetectorMixin, DecoderDepthMixin, DINO):
    """DINO with MoE FFNs where ``moe_cfg`` says (none: the dense DINO) and
    ``test_cfg['decoder_depth']`` (see :mod:`.decoder_depth`)."""


@MODELS.register_module()
class MoEDeformableDETR(MoEDetectorMixin, DecoderDepthMixin, DeformableDETR):
    """Deformable DETR with MoE FFNs where ``moe_cfg`` says and
    ``test_cfg['decoder_depth']``."""
