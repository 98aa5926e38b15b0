"""DynamicDet (CVPR 2023) for any mmdet detector: cascaded dual detectors,
an adaptive router, two-step training and variable-speed inference."""
from .calibration import (check_threshold, hard_ratio_for_latency,
                          hard_ratio_for_latency_curve, route_hard,
                          threshold_for_hard_ratio)
from .cascade_backbone import CascadeBackbone
from .difficulty_router import DifficultyRouter
from .dynamic_detector import DynamicDetector
from .path_complexity import path_flops
from .report_hook import DynamicDetReportHook
from .router_loss import RunningMedian, router_loss
from .router_step_hook import RouterStepHook
from .static_paths_val_loop import StaticPathsValLoop

__all__ = [
    'CascadeBackbone', 'DifficultyRouter', 'DynamicDetReportHook',
    'DynamicDetector', 'RouterStepHook', 'RunningMedian', 'StaticPathsValLoop',
    'check_threshold', 'hard_ratio_for_latency',
    'hard_ratio_for_latency_curve', 'path_flops', 'route_hard', 'router_loss',
    'threshold_for_hard_ratio'
]
