"""A slow, obviously-correct per-token MoE used to check the fast paths,
and the helpers that compare a layer with it (CPU and CUDA tests)."""
from __future__ import annotations

import torch
from torch import Tensor

from mmdet_dynmoe.moe import MoELayer


def reference_moe(layer: MoELayer, x: Tensor) -> Tensor:
    """``routed_scale * sum_j w_j expert_j(x) + shared(x) + bias``, one token
    at a time, in float64 (dropout off; routing from the layer's router)."""
    flat = x.reshape(-1, layer.embed_dims)
    route = layer.router(flat)
    ex = layer.experts
    w1, b1, w2 = (p.detach().double() for p in (ex.w1, ex.b1, ex.w2))
    out = torch.zeros(flat.shape, dtype=torch.float64, device=flat.device)
    for t in range(flat.shape[0]):
        xt = flat[t].double()
        for w, e in zip(route.weights[t].tolist(), route.indices[t].tolist()):
            h = ex.activation(xt @ w1[e] + b1[e])
            out[t] += layer.routed_scale * w * (h @ w2[e])
        if layer.shared_experts is not None:
            sh = layer.shared_experts
            h = sh.activation(xt @ sh.w1[0].double() + sh.b1[0].double())
            out[t] += h @ sh.w2[0].double()
    out += layer.bias.detach().double()
    return out.view(x.shape)


PATHS = ('loop', 'grouped_mm', 'dense')
TOL = {torch.float32: 1e-5, torch.bfloat16: 3e-2, torch.float16: 5e-3}


def make_layer(num_experts=6, top_k=2, embed=16, hidden=24, **kw) -> MoELayer:
    """A small eval-mode layer with both generic routing losses on (the
    engine's defaults are off)."""
    torch.manual_seed(0)
    kw.setdefault('balance_loss_weight', 0.01)
    kw.setdefault('z_loss_weight', 0.001)
    layer = MoELayer(embed, hidden, num_experts, top_k, **kw)
    with torch.no_grad():
        layer.bias.normal_()
    return layer.eval()


def assert_close_to_reference(layer, x, dtype=torch.float32):
    ref = reference_moe(layer, x)
    with torch.no_grad():
        out = layer(x)
    assert out.dtype == x.dtype and out.shape == x.shape
    assert out.device == x.device
    err = (out.double() - ref).abs().max().item()
    scale = max(ref.abs().max().item(), 1.0)
    assert err <= TOL[dtype] * scale, (layer.dispatch, dtype, err)


def tutel_importance_load(logits: Tensor, indices: Tensor,
                          noise_std: float) -> Tensor:
    """tutel v0.2.1 ``losses.load_importance_loss``, written out in float64
    with erf and an explicit unbiased variance."""
    import math
    probs = logits.softmax(-1).double()
    threshold = logits.double().gather(1, indices)[:, -1:]
    cdf = 0.5 * (1 + torch.erf(
        (probs - threshold) / (noise_std * math.sqrt(2))))

    def cv2(v):
        mean = v.mean()
        var = ((v - mean)**2).sum() / (v.numel() - 1)  # unbiased
        return var / (mean**2 + 1e-10)

    return (cv2(probs.sum(0)) + cv2(cdf.sum(0))) / 2
