"""Put the MoE layers' routing losses into a detector's ``loss()`` dict.

For models we do not subclass (an MoEFFN from a model's own ``ffn_cfg``,
or FFNs upcycled by :func:`~.ffn_replacement.upcycle_ffns`): two forward
hooks on the detector module (the MoE detectors of :mod:`.moe_detectors`
add the losses in their own ``loss()`` instead). Before a forward pass,
losses left by an earlier pass are dropped; after ``forward(...,
mode='loss')`` the pending routing losses of every MoE layer are added to
the returned dict (``loss_moe_balance``, ``loss_moe_z`` summed over layers,
or ``moe{i}.loss_...`` per layer), where mmengine's ``parse_losses``
optimises and logs them. ``predict`` and ``tensor`` passes run in eval mode
and compute none.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from mmdet_dynmoe.moe import (clear_moe_aux_losses, moe_layers,
                              pop_moe_aux_losses)

#: attribute of a hooked detector: the collection settings of its hooks.
_ATTACHED = '_moe_routing_loss_collection'


def _clear(module: nn.Module, args: tuple) -> None:
    clear_moe_aux_losses(module)


def add_routing_losses(losses: dict, routing: dict) -> dict:
    """``losses`` with the ``routing`` losses appended (in place).

    Raises:
        KeyError: a routing loss name the detector already returns.
    """
    clash = set(routing) & set(losses)
    if clash:
        raise KeyError(f'the detector already returns {sorted(clash)}')
    losses.update(routing)
    return losses


def _add_to_loss_dict(module: nn.Module, args: tuple, kwargs: dict,
                      output: Any) -> Any:
    mode = kwargs.get('mode', args[2] if len(args) > 2 else 'tensor')
    aux = pop_moe_aux_losses(module, **getattr(module, _ATTACHED))
    if mode == 'loss' and isinstance(output, dict) and aux:
        add_routing_losses(output, aux)
    return output


def attach_moe_aux_losses(detector: nn.Module, per_layer: bool = False) -> int:
    """Make ``detector.loss()`` outputs include its MoE routing losses.

    Idempotent; call it again after adding MoE layers (it also switches on
    loss recording of layers added since). The last call's ``per_layer``
    applies.

    Args:
        detector: the (unwrapped) detector.
        per_layer: one entry per MoE layer instead of sums.

    Returns:
        Number of MoE layers whose losses are collected.
    """
    layers = moe_layers(detector)
    for _, layer in layers:
        layer.record_aux = True
    if getattr(detector, _ATTACHED, None) is None:
        detector.register_forward_pre_hook(_clear)
        detector.register_forward_hook(_add_to_loss_dict, with_kwargs=True)
    # the collection settings the hooks read (the latest call's)
    setattr(detector, _ATTACHED, dict(per_layer=per_layer))
    return len(layers)
