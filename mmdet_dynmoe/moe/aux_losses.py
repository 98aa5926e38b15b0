"""Gather the pending routing losses of every MoE layer in a model."""
from __future__ import annotations

from torch import Tensor, nn

from .layer import MoELayer


def moe_layers(model: nn.Module) -> list[tuple[str, MoELayer]]:
    """``(name, layer)`` of every :class:`MoELayer` in ``model``, in order."""
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, MoELayer)]


def pop_moe_aux_losses(model: nn.Module,
                       per_layer: bool = False) -> dict[str, Tensor]:
    """Take (and clear) the routing losses of all MoE layers of ``model``.

    Args:
        model: any module containing :class:`MoELayer` s.
        per_layer: False: one entry per loss, summed over layers
            (``loss_moe_balance``, ``loss_moe_z``, ``moe_dropped_slots``);
            True: ``moe{i}.loss_moe_balance`` ... for the ``i``-th MoE layer.

    Returns:
        Names mmengine understands: keys containing ``loss`` are optimised
        and logged, others (``moe_dropped_slots``) only logged. Empty when
        no layer ran a training pass.
    """
    out: dict[str, Tensor] = {}
    for i, (_, layer) in enumerate(moe_layers(model)):
        for name, value in layer.pop_aux_losses().items():
            key = f'moe{i}.{name}' if per_layer else name
            out[key] = out[key] + value if key in out else value
    return out


def clear_moe_aux_losses(model: nn.Module) -> None:
    """Drop pending losses (e.g. left by a pass that never reached a loss)."""
    for _, layer in moe_layers(model):
        layer.pop_aux_losses()
