"""MoEGroundingDINO: Grounding DINO with MoE FFNs (Dynamic-DINO's model)."""
from __future__ import annotations

from mmdet.models.detectors import GroundingDINO
from mmdet.registry import MODELS

from mmdet_dynmoe.models import DecoderDepthMixin, MoEDetectorMixin


@MODELS.register_module()
class MoEGroundingDINO(MoEDetectorMixin, DecoderDepthMixin, GroundingDINO):
    """Grounding DINO with MoE FFNs where ``moe_cfg`` says.

    Dynamic-DINO's MoE-Tuning: ``moe_cfg=dict(where='decoder',
    num_copies=N, granularity=k)`` upcycles each decoder FFN into ``N * k``
    experts (top-k = k), ``load_from`` the dense checkpoint starts exactly
    at the dense model, and ``trainable=['moe', 'encoder.fusion_layers.*',
    'bbox_head.*']`` freezes everything else. ``moe_cfg=None`` with the same
    ``trainable`` split (dense FFNs in place of ``'moe'``) is the dense
    control. Keys: see :class:`~mmdet_dynmoe.models.MoEDetectorMixin`;
    ``test_cfg['decoder_depth']`` runs fewer decoder layers at test time.
    """
