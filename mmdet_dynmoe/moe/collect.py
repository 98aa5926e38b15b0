"""Gather the pending routing losses and records of a model's MoE layers."""
from __future__ import annotations

from torch import Tensor, nn

from .layer import MoELayer, RoutingRecord

#: How per-layer losses of one name combine into one entry.
REDUCTIONS = ('sum', 'mean')


def moe_layers(model: nn.Module) -> list[tuple[str, MoELayer]]:
    """``(name, layer)`` of every :class:`MoELayer` in ``model``, in order."""
    return [(n, m) for n, m in model.named_modules()
            if isinstance(m, MoELayer)]


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f'loss reduction={reduction!r} is not allowed; '
                         f'allowed: {list(REDUCTIONS)}')
    return reduction


def pop_moe_aux_losses(model: nn.Module,
                       per_layer: bool = False,
                       reduction: str = 'sum') -> dict[str, Tensor]:
    """Take (and clear) the routing losses of all MoE layers of ``model``.

    Args:
        model: any module containing :class:`MoELayer` s.
        per_layer: False: one entry per loss over the layers
            (``loss_moe_balance``, ``loss_moe_z``, ``moe_dropped_slots``);
            True: ``moe{i}.loss_moe_balance`` ... for the ``i``-th MoE layer.
        reduction: with ``per_layer=False``, ``'sum'`` (default) or
            ``'mean'`` over the layers that returned the entry (a paper's
            "weight w, averaged over the MoE layers" is ``w`` with
            ``'mean'``).

    Returns:
        Names mmengine understands: keys containing ``loss`` are optimised
        and logged, others (``moe_dropped_slots``) only logged. Empty when
        no layer ran a training pass.
    """
    check_reduction(reduction)
    out: dict[str, Tensor] = {}
    count: dict[str, int] = {}
    for i, (_, layer) in enumerate(moe_layers(model)):
        for name, value in layer.pop_aux_losses().items():
            key = f'moe{i}.{name}' if per_layer else name
            out[key] = out[key] + value if key in out else value
            count[key] = count.get(key, 0) + 1
    if reduction == 'mean':
        out = {k: v / count[k] for k, v in out.items()}
    return out


def pop_moe_routing(model: nn.Module) -> list[list[RoutingRecord]]:
    """Each MoE layer's training-pass records (see ``keep_routing``)."""
    return [layer.pop_routing() for _, layer in moe_layers(model)]


def clear_moe_aux_losses(model: nn.Module) -> None:
    """Drop pending losses and routing records (e.g. left by a pass that
    never reached a loss)."""
    for _, layer in moe_layers(model):
        layer.pop_aux_losses()
        layer.pop_routing()
