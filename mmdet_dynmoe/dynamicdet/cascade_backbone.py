"""CascadeBackbone: two copies of one backbone joined by composite connections.

DynamicDet's two detectors share the input image. Backbone 1 runs on every
image; backbone 2 runs only on the images the router calls hard, and reuses
backbone 1's work through CBNet's *dense higher-level composition*: every
backbone-1 level ``i`` is projected by a 1x1 conv + norm, resized to the
input of backbone-2 stage ``l`` and added there, for every ``l <= i`` (the
same and all lower levels), before that stage's blocks run. Backbone 2 also
sees the image through its own stem.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS
from mmengine.model import BaseModule, constant_init
from torch import Tensor, nn

#: Backbones whose forward is ResNet's (stem, then ``res_layers`` in order).
SUPPORTED = 'ResNet, ResNetV1d, ResNeXt, Res2Net, ResNeSt'


def _check_supported(backbone: nn.Module, cfg: dict) -> None:
    # The composite connections are inserted between ResNet's stages, so the
    # wrapper needs ResNet's exact forward; RegNet, HRNet, Swin, CSPDarknet...
    # run their stages differently.
    if not isinstance(backbone, ResNet) or \
            type(backbone).forward is not ResNet.forward:
        raise ValueError(
            f'CascadeBackbone: backbone type={cfg.get("type")!r} is not '
            f'supported; the composite connections need a ResNet-family '
            f'backbone ({SUPPORTED})')


@MODELS.register_module()
class CascadeBackbone(BaseModule):
    """Backbone 1 and backbone 2 with dense higher-level composite connections.

    Args:
        backbone: config of one mmdet backbone (ResNet family, see
            :data:`SUPPORTED`); both backbones are built from it, each with
            its own weights (and its own ``init_cfg``, e.g. pretrained).
        zero_init_connections: zero the last norm of every connection so
            that backbone 2 starts as the plain backbone (CBNetV2's
            ``cb_zero_init``; keeps a pretrained backbone 2 intact at the
            start of training).
        init_cfg: init of the connections (the backbones keep theirs).

    ``forward(x)`` returns the features of both backbones at the backbone
    config's ``out_indices``; the detector uses :meth:`forward_first` and
    :meth:`forward_second` so that backbone 2 can run on a subset.
    """

    def __init__(self,
                 backbone: dict,
                 zero_init_connections: bool = True,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.backbone1 = MODELS.build(backbone)
        _check_supported(self.backbone1, backbone)
        self.backbone2 = MODELS.build(backbone)
        self.zero_init_connections = zero_init_connections
        bb = self.backbone1
        self.num_levels = len(bb.res_layers)
        self.out_indices = tuple(bb.out_indices)
        #: output channels of every level: (C_0, ..., C_{L-1}).
        self.level_channels = tuple(bb.block.expansion * bb.base_channels *
                                    2**i for i in range(self.num_levels))
        #: input channels of every stage (stem, then the previous level).
        stage_in = (bb.stem_channels, ) + self.level_channels[:-1]
        # connections[l][i - l]: backbone-1 level i -> backbone-2 stage l.
        self.connections = nn.ModuleList()
        for level in range(self.num_levels):
            self.connections.append(
                nn.ModuleList(
                    nn.Sequential(
                        nn.Conv2d(
                            self.level_channels[i],
                            stage_in[level],
                            1,
                            bias=False),
                        build_norm_layer(bb.norm_cfg, stage_in[level])[1])
                    for i in range(level, self.num_levels)))

    @property
    def out_channels(self) -> tuple[int, ...]:
        """Channels of the output levels (the same for both backbones)."""
        return tuple(self.level_channels[i] for i in self.out_indices)

    def init_weights(self) -> None:
        super().init_weights()
        if self.zero_init_connections:
            for per_stage in self.connections:
                for conn in per_stage:
                    constant_init(conn[-1], 0)

    @staticmethod
    def _stem(backbone: ResNet, x: Tensor) -> Tensor:
        if backbone.deep_stem:
            x = backbone.stem(x)
        else:
            x = backbone.relu(backbone.norm1(backbone.conv1(x)))
        return backbone.maxpool(x)

    def forward_first(self, x: Tensor) -> tuple[Tensor, ...]:
        """Backbone 1 on the images.

        Args:
            x: (N, 3, H, W) images.

        Returns:
            Every level's features (not only ``out_indices``, the composite
            connections need all of them): level ``i`` is
            (N, C_i, H / 2^(i+2), W / 2^(i+2)) with the default strides.
        """
        feats = []
        x = self._stem(self.backbone1, x)
        for name in self.backbone1.res_layers:
            x = getattr(self.backbone1, name)(x)
            feats.append(x)
        return tuple(feats)

    def forward_second(self, x: Tensor,
                       first: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """Backbone 2 on the images, composed with backbone 1's levels.

        Args:
            x: (M, 3, H, W) images (any subset of backbone 1's batch).
            first: every level of backbone 1 for the same M images, as
                returned by :meth:`forward_first`.

        Returns:
            Backbone 2's features at ``out_indices``.
        """
        if len(first) != self.num_levels:
            raise ValueError(
                f'forward_second needs all {self.num_levels} backbone-1 '
                f'levels, got {len(first)}')
        outs = []
        x = self._stem(self.backbone2, x)
        for level, name in enumerate(self.backbone2.res_layers):
            for conn, feat in zip(self.connections[level], first[level:]):
                x = x + F.interpolate(
                    conn(feat), size=x.shape[-2:], mode='nearest')
            x = getattr(self.backbone2, name)(x)
            if level in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def select_outputs(self, feats: Sequence[Tensor]) -> tuple[Tensor, ...]:
        """The ``out_indices`` levels of :meth:`forward_first`'s output."""
        return tuple(feats[i] for i in self.out_indices)

    def forward(self,
                x: Tensor) -> tuple[tuple[Tensor, ...], tuple[Tensor, ...]]:
        """Both backbones on all images: (backbone-1 outs, backbone-2 outs)."""
        first = self.forward_first(x)
        return self.select_outputs(first), self.forward_second(x, first)
