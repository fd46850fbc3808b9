"""Frame sources for :class:`VideoInferencer`: video files, folders, arrays."""
import os
import os.path as osp
from typing import Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np

from mmvidseg.datasets.base_video_dataset import IMG_EXTENSIONS

VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.mpg', '.mpeg',
                    '.m4v')
Source = Union[str, Sequence[np.ndarray]]


class FrameSource:
    """Iterate ``(name, BGR frame)`` lazily from a video, a folder or arrays.

    Args:
        source (str | Sequence[np.ndarray]): A video file (mp4/avi/...
            through OpenCV), a folder of frame images (sorted by name), or a
            list of (H, W, 3) BGR uint8 arrays.

    Raises:
        FileNotFoundError: The path does not exist.
        ValueError: The source is empty (no frame images, a video without
            readable frames) or of an unknown kind.
        OSError: OpenCV cannot open the video or decode the first frame
            of a folder.
    """

    def __init__(self, source: Source) -> None:
        self.source = source
        self.fps: Optional[float] = None
        self.kind: str
        if isinstance(source, (str, os.PathLike)):
            path = str(source)
            if osp.isdir(path):
                self.kind = 'folder'
                self.files = sorted(
                    f for f in os.listdir(path)
                    if f.lower().endswith(IMG_EXTENSIONS))
                if not self.files:
                    raise ValueError(f'frame folder {path!r} holds no images '
                                     f'({", ".join(IMG_EXTENSIONS)})')
                first = osp.join(path, self.files[0])
                if cv2.imread(first, cv2.IMREAD_COLOR) is None:
                    raise OSError(f'cannot decode frame {first!r}')
            elif osp.isfile(path):
                if not path.lower().endswith(VIDEO_EXTENSIONS):
                    raise ValueError(
                        f'{path!r} is not a video file '
                        f'({", ".join(VIDEO_EXTENSIONS)}) nor a folder')
                self.kind = 'video'
                if osp.getsize(path) == 0:
                    raise ValueError(f'video {path!r} is empty (0 bytes)')
                cap = cv2.VideoCapture(path)
                try:
                    if not cap.isOpened():
                        raise OSError(
                            f'OpenCV cannot open the video {path!r} (not a '
                            'video, truncated, or a codec its FFmpeg lacks)')
                    self.fps = cap.get(cv2.CAP_PROP_FPS) or None
                    self._count = int(cap.get(
                        cv2.CAP_PROP_FRAME_COUNT)) or None
                    if not cap.read()[0]:  # fail now, not mid-way
                        raise ValueError(
                            f'video {path!r} has no readable frames')
                finally:
                    cap.release()
            else:
                raise FileNotFoundError(f'input {path!r} does not exist')
        else:
            self.kind = 'arrays'
            if len(source) == 0:
                raise ValueError('the list of frames is empty')

    def __len__(self) -> int:
        if self.kind == 'folder':
            return len(self.files)
        if self.kind == 'arrays':
            return len(self.source)
        return self._count or 0

    def __iter__(self) -> Iterator[Tuple[str, np.ndarray]]:
        if self.kind == 'folder':
            for f in self.files:
                path = osp.join(self.source, f)
                img = cv2.imread(path, cv2.IMREAD_COLOR)
                if img is None:
                    raise OSError(f'cannot decode frame {path!r}')
                yield osp.splitext(f)[0], img
        elif self.kind == 'arrays':
            for i, img in enumerate(self.source):
                img = np.asarray(img)
                if img.ndim != 3 or img.shape[2] != 3:
                    raise ValueError(f'frame {i} has shape {img.shape}; '
                                     'expected (H, W, 3) BGR')
                yield f'{i:06d}', img.astype(np.uint8, copy=False)
        else:
            cap = cv2.VideoCapture(str(self.source))
            try:
                i = 0
                while True:
                    ok, img = cap.read()
                    if not ok:
                        break
                    yield f'{i:06d}', img
                    i += 1
                if i == 0:
                    raise ValueError(f'video {self.source!r} has no '
                                     'readable frames')
            finally:
                cap.release()


def check_sources(source: Union[Source, Sequence[str]]) -> int:
    """Open every video of ``source`` (see :func:`list_videos`) once.

    Run it before building a model so that a missing or unreadable video
    fails at once, naming the file.

    Returns:
        int: The number of videos.

    Raises:
        FileNotFoundError, ValueError, OSError: As :class:`FrameSource`.
    """
    videos = list_videos(source)
    for _, path in videos or [('', source)]:
        FrameSource(path)
    return len(videos) if videos is not None else 1


def list_videos(source: Union[Source, Sequence[str]]
                ) -> Optional[List[Tuple[str, str]]]:
    """``[(name, path), ...]`` when ``source`` holds several videos.

    Several videos are a list of paths, or a folder holding video files
    and/or sub-folders of frames (and no frame images itself). Returns None
    for a single video (a video file, a folder of frames, a list of arrays).
    """
    if isinstance(source, (list, tuple)) and source and all(
            isinstance(s, (str, os.PathLike)) for s in source):
        paths = [str(s) for s in source]
    elif isinstance(source, (str, os.PathLike)) and osp.isdir(str(source)):
        path = str(source)
        names = sorted(os.listdir(path))
        if any(n.lower().endswith(IMG_EXTENSIONS) for n in names):
            return None
        paths = [
            osp.join(path, n) for n in names
            if n.lower().endswith(VIDEO_EXTENSIONS) or (
                osp.isdir(osp.join(path, n)) and any(
                    f.lower().endswith(IMG_EXTENSIONS)
                    for f in os.listdir(osp.join(path, n))))
        ]
        if not paths:
            return None
    else:
        return None
    named = [(osp.splitext(osp.basename(p.rstrip('/')))[0], p)
             for p in paths]
    names = [n for n, _ in named]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'several videos are named {dup}; their outputs '
                         'would overwrite each other')
    return named
