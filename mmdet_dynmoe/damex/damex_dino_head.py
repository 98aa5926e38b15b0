"""DAMEXDINOHead: DINO's head that remembers which queries it matched."""
from __future__ import annotations

from typing import Optional

import torch
from mmdet.models.dense_heads import DINOHead
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class DAMEXDINOHead(DINOHead):
    """DINOHead that keeps the last decoder layer's Hungarian matching.

    DAMEX's routing loss on foreground queries counts only the decoder
    queries that the matching pairs with a ground-truth box. The head
    computes that matching anyway in ``loss``; this subclass records the
    targets it computed (the way mmdet's ``projects/AlignDETR`` extends
    DINO's head), so nothing is matched twice. Losses and predictions are
    DINOHead's, unchanged.

    After ``loss``, :meth:`pop_matched_queries` returns a (B, Q) bool mask
    over the decoder's queries (denoising queries first, all False), True
    where the last decoder layer's matching query has a box.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.matched_queries: Optional[Tensor] = None
        self._recorded_labels: Optional[list] = None

    def get_targets(self, cls_scores_list, bbox_preds_list, batch_gt_instances,
                    batch_img_metas) -> tuple:
        targets = super().get_targets(cls_scores_list, bbox_preds_list,
                                      batch_gt_instances, batch_img_metas)
        if self._recorded_labels is not None:
            self._recorded_labels.append(targets[0])  # labels_list
        return targets

    def loss_by_feat(self,
                     all_layers_cls_scores: Tensor,
                     all_layers_bbox_preds: Tensor,
                     enc_cls_scores,
                     enc_bbox_preds,
                     batch_gt_instances,
                     batch_img_metas,
                     dn_meta,
                     batch_gt_instances_ignore=None) -> dict:
        """DINOHead's losses; records :attr:`matched_queries`.

        ``all_layers_cls_scores``: (L, B, num_dn + Q, C).
        """
        self._recorded_labels = []
        try:
            losses = super().loss_by_feat(all_layers_cls_scores,
                                          all_layers_bbox_preds,
                                          enc_cls_scores, enc_bbox_preds,
                                          batch_gt_instances, batch_img_metas,
                                          dn_meta, batch_gt_instances_ignore)
            recorded = self._recorded_labels
        finally:
            self._recorded_labels = None
        num_layers = all_layers_cls_scores.shape[0]
        # DETRHead.loss_by_feat matches the decoder layers in order, then
        # DINOHead the encoder proposals.
        expected = num_layers + (enc_cls_scores is not None)
        if len(recorded) != expected:
            raise RuntimeError(
                f'DAMEXDINOHead expected {expected} target computations '
                f'({num_layers} decoder layers + encoder), got '
                f'{len(recorded)}: this mmdet version computes DINO\'s '
                'losses differently')
        labels = torch.stack(recorded[num_layers - 1])  # (B, Q)
        num_dn = dn_meta['num_denoising_queries'] if dn_meta else 0
        matched = labels.new_zeros((labels.shape[0], num_dn + labels.shape[1]),
                                   dtype=torch.bool)
        matched[:, num_dn:] = labels != self.num_classes  # background id
        self.matched_queries = matched
        return losses

    def pop_matched_queries(self) -> Tensor:
        """(B, num_dn + Q) bool of the last ``loss`` call; then cleared."""
        if self.matched_queries is None:
            raise RuntimeError('DAMEXDINOHead.pop_matched_queries: no loss '
                               'was computed since the last pop')
        matched, self.matched_queries = self.matched_queries, None
        return matched
