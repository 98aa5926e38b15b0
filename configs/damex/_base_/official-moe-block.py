# The official DAMEX code's MoE block (jinga-lala/DAMEX,
# models/dino/deformable_transformer.py, MoEMlp, and tutel v0.2.1's layer),
# as MoE keys. This file only adds a name no mmdet base defines, so it can
# sit beside a DAMEX config in a `_base_` list; each preset then sets
#   model = dict(moe_cfg=_base_.damex_official_moe_block)
# plus its router_cfg: noise_in_loss=False (tutel: the noise chooses, the
# losses read the clean logits) and noise_std = gate_noise / E (needs E).
damex_official_moe_block = dict(
    act_cfg=dict(type='GELU'),  # DAMEX official: GELU experts
    output_bias='per_expert_frozen',  # DAMEX official: mlp_fc2_bias=False
    init='xavier',  # DAMEX official: the transformer's xavier, tutel shapes
    pre_norm=True,  # DAMEX official: pre-norm MoE block, post-norm layer
    dropout_layer=dict(type='DropPath',
                       drop_prob=0.2),  # DAMEX official: moe_drop_path=0.2
    capacity_at_test=True)  # DAMEX official: tutel's capacity in eval too
