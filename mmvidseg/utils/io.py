"""Atomic file output: write to a temporary name, then rename."""
import io
import os
import os.path as osp
import tempfile
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

import cv2
import numpy as np
from PIL import Image


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


def atomic_write_mask(path: str, mask: np.ndarray,
                      palette: Optional[Sequence[int]] = None) -> None:
    """Write an (H, W) id map as a PNG atomically.

    Args:
        path (str): Output ``.png`` path.
        mask (np.ndarray): (H, W) ids in 0..255.
        palette (Sequence[int], optional): Flat RGB palette (``3 * 256``
            values at most): write an indexed (palette) PNG, as the DAVIS
            results format requires; otherwise a greyscale PNG of the ids.

    Raises:
        ValueError: Ids outside 0..255.
    """
    mask = np.asarray(mask)
    if mask.size and (mask.max() > 255 or mask.min() < 0):
        raise ValueError(f'ids outside 0..255 cannot be saved as an 8-bit '
                         f'PNG ({path!r})')
    if palette is None:
        atomic_imwrite(path, mask.astype(np.uint8))
        return
    img = Image.fromarray(mask.astype(np.uint8), mode='P')
    img.putpalette(list(palette))
    buf = io.BytesIO()
    img.save(buf, format='PNG')
    atomic_write_bytes(path, buf.getvalue())


def read_mask(path: str) -> np.ndarray:
    """Read an object/class id map: an indexed (palette) or greyscale PNG.

    A greyscale mask holding only 0 and 255 is read as a binary mask
    (255 -> object 1, as DAVIS-2016 masks).

    Returns:
        np.ndarray: (H, W) int64 ids.

    Raises:
        FileNotFoundError: The file is missing.
        OSError: It cannot be decoded.
        ValueError: It is a colour (RGB) image.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'mask {path!r} does not exist')
    try:
        img = Image.open(path)
        img.load()
    except Exception as e:  # PIL raises several error types
        raise OSError(f'cannot decode mask {path!r}: {e}') from e
    if img.mode not in ('P', 'L', 'I', 'I;16', '1'):
        raise ValueError(f'mask {path!r} is a {img.mode} image; expected an '
                         'indexed (palette) or greyscale id map')
    mask = np.asarray(img).astype(np.int64)
    if img.mode != 'P' and set(np.unique(mask).tolist()) <= {0, 255}:
        mask = (mask == 255).astype(np.int64)
    return mask
