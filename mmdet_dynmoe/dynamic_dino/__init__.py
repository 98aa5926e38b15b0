"""Dynamic-DINO (MoE-Tuning of Grounding DINO), arXiv 2507.17436.

Map:

- ``moe_grounding_dino.py``: :class:`MoEGroundingDINO`, Grounding DINO +
  ``moe_cfg`` / ``trainable``. The upcycling itself (dense FFN -> N copies
  x k fine-grained experts with a replicated router, exact at the start) is
  the engine's (:mod:`mmdet_dynmoe.moe.upcycle`, applied on load by
  :class:`~mmdet_dynmoe.models.MoEFFN`).
- ``text_prompt_length_hook.py``: :class:`TextPromptLengthHook`, refuses
  class-name prompts the text encoder would truncate.
- ``text_encoder.py``: :func:`minilm_path`, the offline MiniLM text encoder.
- ``coactivation.py``: expert partners and team sizes (the paper's
  co-activation analysis; ``tools/analyze_experts.py``).

Config keys it adds: ``model.type='MoEGroundingDINO'``, ``model.moe_cfg``
(``where``, ``num_copies``, ``granularity``, loss weights),
``model.trainable``; ``custom_hooks=[dict(type='TextPromptLengthHook')]``.
Configs: ``configs/dynamic_dino/``.
"""
from .coactivation import (ExpertPartners, partners_table, summarize_layer,
                           team_size_table)
from .moe_grounding_dino import MoEGroundingDINO
from .text_encoder import minilm_path
from .text_prompt_length_hook import TextPromptLengthHook

__all__ = [
    'ExpertPartners', 'MoEGroundingDINO', 'TextPromptLengthHook',
    'minilm_path', 'partners_table', 'summarize_layer', 'team_size_table'
]
