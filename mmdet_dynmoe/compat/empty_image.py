"""A zero-byte image fails with its path, like every other unreadable image.

mmcv 2.1's ``LoadImageFromFile`` turns an image that does not decode into
``failed to load image: <path>`` (``imfrombytes`` returns None), but an
empty file never gets there: OpenCV's ``imdecode`` raises
``cv2.error ... !buf.empty()`` first, without the file name. Only
``mmcv.transforms.loading`` is given an ``imfrombytes`` that returns None for
empty bytes; every other user of mmcv keeps mmcv's.
"""
from __future__ import annotations

from typing import Any

from .module_proxy import install_proxy


def apply() -> None:
    """Install the empty-bytes check into mmcv's loading module
    (idempotent)."""
    import mmcv
    import mmcv.transforms.loading as loading
    decode = mmcv.imfrombytes

    def imfrombytes(content: bytes, *args: Any, **kwargs: Any):
        if not content:
            return None  # -> 'failed to load image: <path>'
        return decode(content, *args, **kwargs)

    install_proxy(loading, 'mmcv', imfrombytes=imfrombytes)
