"""DETR-family detectors whose chosen FFNs are MoEFFNs (``moe_cfg``).

mmdet's DINO, Deformable DETR and Grounding DINO layers instantiate mmcv's
``FFN`` directly, so ``ffn_cfg=dict(type='MoEFFN')`` cannot reach them.
These subclasses take one more key, ``moe_cfg`` (see
:func:`~mmdet_dynmoe.models.layers.apply_moe_cfg`), build the stock
detector, then replace the named FFNs; everything else is the stock
detector. The routing losses join ``loss()`` automatically, and
``load_from`` a *dense* checkpoint upcycles its FFN weights on the fly
(MoE-Tuning starts exactly at the dense model).
"""
from __future__ import annotations

from typing import Optional, Sequence

from mmengine.logging import print_log

from mmdet.models.detectors import DINO, DeformableDETR, GroundingDINO
from mmdet.registry import MODELS
from mmdet_dynmoe.moe import moe_layers

from ..freezing import freeze_except
from ..layers import apply_moe_cfg


class MoEDetectorMixin:
    """Adds ``moe_cfg`` and ``trainable`` to a DETR-family detector.

    ``moe_cfg=None`` keeps the stock dense detector (e.g. the dense
    fine-tuning baseline of MoE-Tuning, with the same frozen parts).
    ``trainable`` (fnmatch patterns over parameter names, ``'moe'`` for every
    MoE layer) freezes all other parameters at build time, before the
    optimizer and DDP see them, and logs a trainable/frozen table.
    """

    def __init__(self, *args, moe_cfg: Optional[dict] = None,
                 trainable: Optional[Sequence[str]] = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)  # the stock detector
        self.moe_cfg = moe_cfg
        self.moe_ffn_names = apply_moe_cfg(self, moe_cfg) if moe_cfg else []
        self.trainable = trainable
        if trainable is not None:
            table = freeze_except(self, trainable)
            print_log(f'{type(self).__name__}: trainable {list(trainable)}\n'
                      f'{table}', logger='current')

    def init_weights(self) -> None:
        # The stock init re-draws every >1-D transformer parameter with
        # xavier, which is meaningless for stacked (E, C, H) expert weights;
        # give the MoE layers their own init afterwards. (A dense checkpoint
        # loaded later overwrites both, upcycled.)
        super().init_weights()
        for _, layer in moe_layers(self):
            layer.reset_parameters()


@MODELS.register_module()
class MoEDINO(MoEDetectorMixin, DINO):
    """DINO with MoE FFNs where ``moe_cfg`` says."""


@MODELS.register_module()
class MoEDeformableDETR(MoEDetectorMixin, DeformableDETR):
    """Deformable DETR with MoE FFNs where ``moe_cfg`` says."""


@MODELS.register_module()
class MoEGroundingDINO(MoEDetectorMixin, GroundingDINO):
    """Grounding DINO with MoE FFNs where ``moe_cfg`` says."""
