"""Let mmengine resolve ``mmdet_dynmoe::`` in a config's ``_base_``.

mmengine 0.10.7 resolves ``pkg::path`` only for packages in its
``MODULE2PACKAGE`` table and through their ``model-index.yml``; this adds
ours, resolved by path (:func:`mmdet_dynmoe.config_file`), and makes an
unknown path an error that lists our config folders. Scoped to the two
mmengine functions that resolve external bases; other packages' ``pkg::``
resolve as before (tested in tests/compat/).
"""
from __future__ import annotations

import os.path as osp

from ..config_files import PACKAGE, PACKAGE_DIR, config_file


def register_config_scope() -> None:
    """Let mmengine resolve ``mmdet_dynmoe::`` in ``_base_``.

    mmengine only resolves ``pkg::`` for packages in its ``MODULE2PACKAGE``
    table; add ours, and make an unknown path an error that lists our
    config folders instead of a bare "file does not exist".
    """
    from mmengine.config import config as config_module
    from mmengine.config import utils
    utils.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)
    if getattr(config_module._get_external_cfg_base_path, '_dynmoe', False):
        return
    by_metafile = config_module._get_external_cfg_path
    by_path = config_module._get_external_cfg_base_path

    def ours(package_path: str) -> bool:
        return osp.realpath(package_path) == osp.realpath(PACKAGE_DIR)

    def external_cfg_path(package_path: str, cfg_name: str) -> str:
        if ours(package_path):  # no model-index.yml: resolve by path
            raise ValueError(f'{PACKAGE} has no model index')
        return by_metafile(package_path, cfg_name)

    def external_cfg_base_path(package_path: str, cfg_name: str) -> str:
        if ours(package_path):
            return config_file(cfg_name)
        return by_path(package_path, cfg_name)

    external_cfg_base_path._dynmoe = True
    config_module._get_external_cfg_path = external_cfg_path
    config_module._get_external_cfg_base_path = external_cfg_base_path
