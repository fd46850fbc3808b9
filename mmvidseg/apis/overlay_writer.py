"""Write prediction overlays as an MP4 (streamed) or a GIF."""
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import numpy as np
from PIL import Image

from mmvidseg.utils.io import atomic_path


def blend(frame: np.ndarray, mask: np.ndarray, palette: np.ndarray,
          alpha: float = 0.5) -> np.ndarray:
    """Overlay class colours (RGB palette) on a BGR frame.

    Args:
        frame (np.ndarray): (H, W, 3) BGR uint8.
        mask (np.ndarray): (H, W) class ids.
        palette (np.ndarray): (K, 3) RGB colours.

    Returns:
        np.ndarray: (H, W, 3) BGR uint8.
    """
    colour = palette[np.clip(mask, 0, len(palette) - 1)][..., ::-1]
    out = frame.astype(np.float32) * (1 - alpha) + colour * alpha
    keep = (mask == 0) | (mask >= len(palette))
    out[keep] = frame[keep]
    return out.astype(np.uint8)


class OverlayWriter:
    """Collects overlay frames into ``path`` (``.mp4`` or ``.gif``).

    MP4 frames are streamed to disk as they come; a GIF has to be encoded at
    the end, so its frames are kept (downscaled to at most ``gif_max_side``)
    in memory: use MP4 for long videos. The file appears under its final name
    only when :meth:`close` succeeds.
    """

    def __init__(self, path: str, fps: float = 10.0,
                 gif_max_side: int = 320) -> None:
        ext = osp.splitext(path)[1].lower()
        if ext not in ('.mp4', '.gif'):
            raise ValueError(f'overlay must be .mp4 or .gif, got {path!r}')
        self.path, self.ext, self.fps = path, ext, fps
        self.gif_max_side = gif_max_side
        self._ctx = atomic_path(path)
        self._tmp = self._ctx.__enter__()
        self._writer: Optional[cv2.VideoWriter] = None
        self._gif: List[Image.Image] = []

    def write(self, frame: np.ndarray) -> None:
        if self.ext == '.mp4':
            if self._writer is None:
                h, w = frame.shape[:2]
                self._writer = cv2.VideoWriter(
                    self._tmp, cv2.VideoWriter_fourcc(*'mp4v'), self.fps,
                    (w, h))
                if not self._writer.isOpened():
                    raise OSError(f'OpenCV cannot write {self.path!r}')
            self._writer.write(frame)
        else:
            h, w = frame.shape[:2]
            s = min(1.0, self.gif_max_side / max(h, w))
            if s < 1.0:
                frame = cv2.resize(frame, (int(w * s), int(h * s)),
                                   interpolation=cv2.INTER_AREA)
            self._gif.append(Image.fromarray(frame[..., ::-1]))

    def close(self) -> str:
        if self._writer is not None:
            self._writer.release()
        if self.ext == '.gif':
            if not self._gif:
                raise ValueError('no frames to write')
            self._gif[0].save(
                self._tmp, format='GIF', save_all=True,
                append_images=self._gif[1:],
                duration=int(1000 / max(self.fps, 1)), loop=0)
        self._ctx.__exit__(None, None, None)
        return self.path

    def abort(self) -> None:
        """Drop the partial output (the final name is never created)."""
        if self._writer is not None:
            self._writer.release()
        try:
            self._ctx.__exit__(RuntimeError, RuntimeError('aborted'), None)
        except RuntimeError:
            pass


def as_palette(palette: Optional[Sequence], num_classes: int) -> np.ndarray:
    """A (K, 3) uint8 RGB palette; a fixed random one when none is given."""
    if palette is not None:
        return np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    rng = np.random.RandomState(42)
    pal = rng.randint(0, 255, (max(num_classes, 1), 3)).astype(np.uint8)
    pal[0] = 0
    return pal
