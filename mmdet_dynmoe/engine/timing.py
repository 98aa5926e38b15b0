"""Wall-clock timing that counts the device's queued work."""
from __future__ import annotations

from typing import Union

import torch
from torch import nn


def synchronize(where: Union[nn.Module, torch.device, str, None]) -> None:
    """Wait for the CUDA work queued on ``where`` (a module's device, or a
    device); a no-op on the CPU. Call before reading a timer."""
    if isinstance(where, nn.Module):
        param = next(where.parameters(), None)
        device = param.device if param is not None else torch.device('cpu')
    else:
        device = torch.device(where if where is not None else 'cpu')
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
