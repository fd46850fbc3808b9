"""Atomic file output: write to a temporary name, then rename."""
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator, Optional

import cv2
import numpy as np


@contextmanager
def atomic_path(path: str, suffix: Optional[str] = None) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it there on success.

    The temporary file keeps the extension of ``path`` (or ``suffix``) so that
    writers choosing a format by extension (OpenCV) work. On error the
    temporary file is removed and ``path`` is left as it was.
    """
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    ext = suffix if suffix is not None else osp.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(
        prefix=f'.{osp.basename(path)}.', suffix=ext, dir=folder)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600 files
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def atomic_imwrite(path: str, img: np.ndarray) -> None:
    """Encode ``img`` by the extension of ``path`` and write it atomically.

    Raises:
        ValueError: OpenCV cannot encode the image in that format.
    """
    try:
        ok, buf = cv2.imencode(osp.splitext(path)[1] or '.png', img)
    except cv2.error:
        ok = False
    if not ok:
        raise ValueError(f'cannot encode an image of shape {img.shape} '
                         f'for {path!r}')
    atomic_write_bytes(path, buf.tobytes())
