# The HI-MoE prototype's MoE (vashkelis/himoe, projects/hi_moe/himoe_ffn.py
# and configs/generated/himoe_full_12e.py) as overrides of hi_moe_cfg.
# This file only adds a name no mmdet base defines; a preset lists it in its
# `_base_` and sets model = dict(moe_cfg=_base_.hi_moe_prototype_overrides).
# Active FFN compute per token: top-2 full-width experts + the full-width
# shared expert = 3x the dense FFN (our default: 1x).
hi_moe_prototype_overrides = dict(
    where=['encoder', 'decoder'],  # HI-MoE prototype: encoder and decoder
    granularity=1,  # HI-MoE prototype: 16 experts of the full FFN width
    num_shared_experts=1,  # HI-MoE prototype: a full-width shared expert
    router_cfg=dict(
        combine='instance',  # prototype: softmax over the top-2 logits
        bias=True,  # prototype: nn.Linear routers (with bias)
        # prototype: its balance/diversity losses are computed from counts,
        # have no gradient and are only logged, so they do not train
        group_balance_loss_weight=0.0,
        diversity_loss_weight=0.0),
    balance_loss_weight=0.0)  # prototype: no trainable balancing loss
