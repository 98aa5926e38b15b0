"""engine/speed_measurement.py: latency estimates that a burst of load from
another process does not move."""
from __future__ import annotations

import time

from torch import nn

from mmdet_dynmoe.engine import speed_measurement as measure


class Sleeper(nn.Module):
    """``predict`` sleeps 5 ms, and 300 ms at the given (call, batch) pairs:
    another process taking the CPU for a moment."""

    def __init__(self, bursts: set[tuple[int, int]]) -> None:
        super().__init__()
        self.bursts, self.calls = bursts, []

    def predict(self, inputs, samples):
        batch = inputs
        call = sum(1 for c in self.calls if c == batch)
        self.calls.append(batch)
        time.sleep(0.3 if (call, batch) in self.bursts else 0.005)
        return samples


def test_interleaved_latency_keeps_each_batchs_fastest_round():
    batches = [dict(inputs=i, data_samples=[None]) for i in range(3)]
    # warm-up is batch 0's call 0; rounds: calls 1 and 2 of batch 0, calls
    # 0 and 1 of batches 1 and 2. One burst in each round, on other batches:
    # every round's total holds one, no batch's best round does.
    model = Sleeper(bursts={(1, 0), (1, 2)})
    (latency, ) = measure.interleaved_latencies(model, [{}], batches, 2)
    assert latency < 100  # ms per image; a burst alone would be 100
    assert 5 <= latency
