"""DynamicDetector: DynamicDet around any mmdet detector config.

Two detectors share the input: detector 1 (backbone 1 + its own neck and
head) and detector 2 (backbone 2, composed with backbone 1's levels, + its
own neck and head); a router scores each image's easiness from backbone 1's
features. Training has two steps, chosen by ``step``:

1. joint: both detectors' losses, summed (logged as ``d1.*`` and ``d2.*``);
   the router is frozen;
2. router: everything but the router frozen (and in eval mode, so BN
   statistics stay those of step 1); the router learns from the per-image
   detached losses of both detectors (:func:`router_loss`), with the running
   median of ``L1 - L2`` over the images seen so far as offset.

At inference each batch is split by the router: detector 1 answers the easy
images; backbone 2 and detector 2 run only on the hard subset; the results
come back in input order.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any, Optional, Union

import torch
from mmdet.models.detectors.base import BaseDetector
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmengine.logging import print_log
from torch import Tensor, nn

from mmdet_dynmoe.engine.model_loading import unwrap_model
from mmdet_dynmoe.models.freezing import freeze_except
from .calibration import check_threshold, route_hard
from .cascade_backbone import CascadeBackbone
from .difficulty_router import DifficultyRouter
from .router_loss import RunningMedian, router_loss

#: the training steps: 1 joint detectors, 2 router.
STEPS = (1, 2)

Features = tuple[Tensor, ...]


def _check_detector_type(detector_type: str) -> None:
    cls = MODELS.get(detector_type) if isinstance(detector_type, str) else None
    if cls is None or not issubclass(cls, BaseDetector) or \
            issubclass(cls, DynamicDetector):
        raise ValueError(
            f'DynamicDetector: detector_type={detector_type!r} must name a '
            'registered mmdet detector, e.g. RetinaNet, FCOS, ATSS, RTMDet '
            '(one-stage) or FasterRCNN (two-stage)')


def _check_path(path: int) -> None:
    if path not in (1, 2):
        raise ValueError(f'path={path!r} must be 1 or 2')


@MODELS.register_module()
class DynamicDetector(BaseDetector):
    """DynamicDet: cascaded dual detectors with an adaptive router.

    The config is an ordinary mmdet detector config with ``type`` swapped
    for ``'DynamicDetector'`` and the original type moved to
    ``detector_type``; so a config inherits e.g.
    ``mmdet::retinanet/retinanet_r50_fpn_1x_coco.py`` and overrides only
    what DynamicDet changes.

    Args:
        detector_type: the mmdet detector both detectors are, one-stage
            (e.g. ``'RetinaNet'``, ``'FCOS'``, ``'ATSS'``, ``'RTMDet'``) or
            two-stage (e.g. ``'FasterRCNN'``).
        backbone: a ResNet-family backbone config; it becomes the
            :class:`CascadeBackbone` (two copies, composite connections).
        data_preprocessor: the detector's data preprocessor.
        step: 1 (joint training of both detectors) or 2 (router training).
        threshold: images with an easiness score below it go to detector 2;
            in [0, 1] (0: all detector 1, 1: all detector 2).
        difficulty_router: the image router's options (a
            :class:`DifficultyRouter`, not a token router): ``reduction``
            (default 4) and ``levels`` (backbone-1 levels it reads; default
            the backbone's ``out_indices``).
        router: the former name of ``difficulty_router`` (still read, with
            a deprecation warning).
        zero_init_connections: see :class:`CascadeBackbone`.
        init_cfg: init of the whole model (the parts keep their own).
        **detector_cfg: the rest of the detector's config (``neck``,
            ``bbox_head`` or ``rpn_head`` / ``roi_head``, ``train_cfg``,
            ``test_cfg``); detector 1 and 2 are each built from it, with
            their own neck and head.
    """

    def __init__(self,
                 detector_type: str,
                 backbone: dict,
                 data_preprocessor: Optional[dict] = None,
                 step: int = 1,
                 threshold: float = 0.5,
                 difficulty_router: Optional[dict] = None,
                 router: Optional[dict] = None,
                 zero_init_connections: bool = True,
                 init_cfg: Optional[dict] = None,
                 **detector_cfg: Any) -> None:
        if step not in STEPS:
            raise ValueError(f'DynamicDetector: step={step!r} must be one of '
                             f'{STEPS} (1: joint detectors, 2: router)')
        _check_detector_type(detector_type)
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.step = step
        self.threshold = threshold
        self.backbone = CascadeBackbone(
            backbone, zero_init_connections=zero_init_connections)
        # Each detector receives the cascade backbone's features as its
        # "images": an identity backbone hands them to its neck, so the
        # stock loss / predict code of any mmdet detector runs unchanged.
        detector = dict(
            copy.deepcopy(detector_cfg),
            type=detector_type,
            backbone=dict(type=nn.Identity))
        self.detector1 = MODELS.build(copy.deepcopy(detector))
        self.detector2 = MODELS.build(detector)
        if router is not None:
            if difficulty_router is not None:
                raise ValueError('DynamicDetector: give difficulty_router, '
                                 'not also its former name router')
            warnings.warn(
                'DynamicDetector: the key router=... is now '
                'difficulty_router=... (same options)', DeprecationWarning)
            difficulty_router = router
        router = dict(difficulty_router or {})
        levels = tuple(router.pop('levels', self.backbone.out_indices))
        bad = [i for i in levels if not 0 <= i < self.backbone.num_levels]
        if bad or not levels:
            raise ValueError(
                f'DynamicDetector: difficulty_router levels={levels} must be '
                f'backbone levels in [0, {self.backbone.num_levels - 1}]')
        self.router_levels = levels
        self.difficulty_router = DifficultyRouter(
            [self.backbone.level_channels[i] for i in levels], **router)
        #: running median of L1 - L2 (the router loss's offset D).
        self.loss_gap = RunningMedian()
        self._step1_loaded = False
        self._freeze_for_step()

    # -- configuration -----------------------------------------------------

    @property
    def threshold(self) -> float:
        """Easiness threshold in [0, 1]; below it an image is hard."""
        return self._threshold

    @threshold.setter
    def threshold(self, value: float) -> None:
        self._threshold = check_threshold(value)

    def _freeze_for_step(self) -> None:
        if self.step == 1:
            # Unused in step 1: frozen so DDP sees no parameter without grad.
            self.difficulty_router.requires_grad_(False)
            return
        table = freeze_except(self, ['difficulty_router.*'])
        print_log(
            f'DynamicDet step 2: only the router trains\n{table}',
            logger='current')

    def train(self, mode: bool = True) -> 'DynamicDetector':
        super().train(mode)
        if self.step == 2:  # frozen parts stay in eval mode (BN statistics)
            for name, child in self.named_children():
                if name != 'difficulty_router':
                    child.eval()
        return self

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args: Any,
                              **kwargs: Any) -> None:
        # Step 2 refuses to train a router on detectors nobody trained.
        # Checkpoints written before the rename call the router 'router'.
        for key in [k for k in state_dict if k.startswith(prefix + 'router.')]:
            new = prefix + 'difficulty_router.' + key[len(prefix + 'router.'):]
            state_dict[new] = state_dict.pop(key)
        if any(k.startswith(prefix + 'detector1.') for k in state_dict):
            self._step1_loaded = True
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -- features ----------------------------------------------------------

    def extract_feat(self, batch_inputs: Tensor) -> tuple[Features, Features]:
        """Both backbones' features on all images.

        Args:
            batch_inputs: (N, 3, H, W).

        Returns:
            (backbone-1 outputs, backbone-2 outputs), each a tuple over the
            backbone's ``out_indices``.
        """
        return self.backbone(batch_inputs)

    def router_scores(self, first: Features) -> Tensor:
        """(N,) easiness scores from every backbone-1 level (``first``)."""
        return self.difficulty_router([first[i] for i in self.router_levels])

    # -- training ----------------------------------------------------------

    def loss(self, batch_inputs: Tensor,
             batch_data_samples: SampleList) -> dict[str, Any]:
        """Step 1: both detectors' losses; step 2: the router loss."""
        if self.step == 2:
            return self.router_step_loss(batch_inputs, batch_data_samples)
        first = self.backbone.forward_first(batch_inputs)
        second = self.backbone.forward_second(batch_inputs, first)
        losses = {}
        for prefix, det, feats in (('d1', self.detector1,
                                    self.backbone.select_outputs(first)),
                                   ('d2', self.detector2, second)):
            for key, value in det.loss(feats, batch_data_samples).items():
                losses[f'{prefix}.{key}'] = value
        return losses

    @staticmethod
    def per_image_losses(detector: BaseDetector, feats: Features,
                         batch_data_samples: SampleList) -> Tensor:
        """(N,) total detection loss of ``detector`` on each image alone.

        Args:
            detector: detector 1 or 2 (identity backbone).
            feats: its input features, each (N, C, H, W).
            batch_data_samples: the N images' samples.
        """
        totals = []
        for i, sample in enumerate(batch_data_samples):
            losses = detector.loss(tuple(f[i:i + 1] for f in feats), [sample])
            totals.append(detector.parse_losses(losses)[0].detach())
        return torch.stack(totals)

    def per_image_path_losses(
            self, batch_inputs: Tensor,
            batch_data_samples: SampleList) -> tuple[Features, Tensor, Tensor]:
        """Backbone-1 features and both detectors' per-image losses.

        Args:
            batch_inputs: (N, 3, H, W).
            batch_data_samples: the N images' samples with ground truth in
                the input's scale.

        Returns:
            (backbone-1 outputs, (N,) L1, (N,) L2), the losses detached.
        """
        first = self.backbone.forward_first(batch_inputs)
        loss1 = self.per_image_losses(self.detector1,
                                      self.backbone.select_outputs(first),
                                      batch_data_samples)
        loss2 = self.per_image_losses(
            self.detector2, self.backbone.forward_second(batch_inputs, first),
            batch_data_samples)
        return first, loss1, loss2

    def router_step_loss(self, batch_inputs: Tensor,
                         batch_data_samples: SampleList) -> dict[str, Tensor]:
        """Step 2: the router objective on per-image detached losses.

        Returns:
            ``loss_router`` and, for the log, ``router_offset`` (D),
            ``router_score`` (mean) and ``router_hard`` (fraction of images
            whose score is below the threshold).
        """
        if not self._step1_loaded:
            raise RuntimeError(
                'DynamicDet step 2 trains the router on the step-1 detectors, '
                'but no step-1 checkpoint was loaded into this model: set '
                'load_from to the checkpoint of the step-1 config')
        with torch.no_grad():
            first, loss1, loss2 = self.per_image_path_losses(
                batch_inputs, batch_data_samples)
            offset = self.loss_gap.update(loss1 - loss2)
        scores = self.router_scores(first)
        return dict(
            loss_router=router_loss(scores, loss1, loss2, offset),
            router_offset=offset.detach(),
            router_score=scores.detach().mean(),
            router_hard=route_hard(scores.detach(),
                                   self.threshold).float().mean())

    # -- inference ---------------------------------------------------------

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Route each image: detector 1 if easy, else backbone 2 + detector 2.

        Backbone 2 and detector 2 run once, on the hard subset only. Every
        returned sample carries ``router_score`` and ``routed_to`` (1 or 2)
        in its metainfo.

        Returns:
            The samples with ``pred_instances``, in input order.
        """
        first = self.backbone.forward_first(batch_inputs)
        feats1 = self.backbone.select_outputs(first)
        scores = self.router_scores(first)
        hard = route_hard(scores, self.threshold)
        results: list = [None] * len(batch_data_samples)
        for index, sample in enumerate(batch_data_samples):
            sample.set_metainfo(
                dict(
                    router_score=float(scores[index]),
                    routed_to=2 if hard[index] else 1))
        for path, mask in ((1, ~hard), (2, hard)):
            index = mask.nonzero().flatten().tolist()
            if not index:
                continue
            samples = [batch_data_samples[i] for i in index]
            if path == 1:
                preds = self.detector1.predict(
                    tuple(f[mask] for f in feats1), samples, rescale)
            else:
                feats2 = self.backbone.forward_second(batch_inputs[mask],
                                                      [f[mask] for f in first])
                preds = self.detector2.predict(feats2, samples, rescale)
            for i, pred in zip(index, preds):
                results[i] = pred
        return results

    def predict_path(self,
                     batch_inputs: Tensor,
                     batch_data_samples: SampleList,
                     path: int,
                     rescale: bool = True) -> SampleList:
        """One static detector on every image, without the router.

        Path 1 is backbone 1 + detector 1, path 2 the cascade (backbone 1 +
        backbone 2 + detector 2): the static models that :meth:`predict` at
        threshold 0 and 1 is measured against (same predictions, plus the
        router's cost).

        Args:
            batch_inputs: (N, 3, H, W).
            path: 1 or 2.

        Returns:
            The samples with ``pred_instances``, in input order.
        """
        _check_path(path)
        first = self.backbone.forward_first(batch_inputs)
        if path == 1:
            return self.detector1.predict(
                self.backbone.select_outputs(first), batch_data_samples,
                rescale)
        return self.detector2.predict(
            self.backbone.forward_second(batch_inputs, first),
            batch_data_samples, rescale)

    def _forward(
        self,
        batch_inputs: Tensor,
        batch_data_samples: Optional[SampleList] = None
    ) -> tuple[Any, Any, Tensor]:
        """Raw outputs of both paths on all images and the router scores."""
        first = self.backbone.forward_first(batch_inputs)
        feats1 = self.backbone.select_outputs(first)
        out1 = self.detector1._forward(feats1, batch_data_samples)
        out2 = self.detector2._forward(
            self.backbone.forward_second(batch_inputs, first),
            batch_data_samples)
        return out1, out2, self.router_scores(first)

    def path_forward(
            self,
            batch_inputs: Tensor,
            path: int,
            batch_data_samples: Optional[SampleList] = None
    ) -> Union[Any, tuple]:
        """Raw head outputs of one static path (for FLOPs and latency).

        Args:
            batch_inputs: (N, 3, H, W).
            path: 1 (backbone 1 + router + detector 1) or 2 (backbone 1 +
                router + backbone 2 + detector 2).
        """
        _check_path(path)
        first = self.backbone.forward_first(batch_inputs)
        scores = self.router_scores(first)
        if path == 1:
            return self.detector1._forward(
                self.backbone.select_outputs(first),
                batch_data_samples), scores
        second = self.backbone.forward_second(batch_inputs, first)
        return self.detector2._forward(second, batch_data_samples), scores


def unwrap(model: nn.Module) -> DynamicDetector:
    """The :class:`DynamicDetector` inside a (DDP-)wrapped model."""
    return unwrap_model(model, DynamicDetector)
