"""Extract every frame of the CamVid videos for the TMANet layout."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import cv2
from tqdm import tqdm

from mmvidseg.utils.io import atomic_imwrite

VIDEO_EXTENSIONS = ('.mxf', '.avi', '.mp4')


def extract_video_frames(video: str,
                         out_dir: str,
                         name: Optional[str] = None,
                         skip_existing: bool = True,
                         progress: bool = True) -> int:
    """Write frame ``i`` of ``video`` to ``<out_dir>/<name>_<i:06d>.png``.

    Frames are counted from 0 by decoding the whole video (the container's
    frame count is not trusted). Existing frame files are kept (with
    ``skip_existing``), so an interrupted extraction resumes; every file is
    written atomically.

    Args:
        video (str): Video file readable by OpenCV.
        out_dir (str): Output folder (created if needed).
        name (str, optional): Frame name prefix; the video file stem.
        skip_existing (bool): Do not rewrite frames already extracted.
        progress (bool): Show a tqdm progress bar.

    Returns:
        int: The number of frames of the video.

    Raises:
        FileNotFoundError: ``video`` does not exist.
        OSError: OpenCV cannot open it or decodes no frame.
    """
    if not osp.isfile(video):
        raise FileNotFoundError(f'video {video!r} not found')
    name = name or osp.splitext(osp.basename(video))[0]
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise OSError(f'OpenCV cannot open video {video!r}')
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    os.makedirs(out_dir, exist_ok=True)
    bar = tqdm(total=total, desc=name, disable=not progress, unit='frame')
    count = 0
    try:
        while True:
            path = osp.join(out_dir, f'{name}_{count:06d}.png')
            if skip_existing and osp.isfile(path):
                if not cap.grab():
                    break
            else:
                ok, frame = cap.read()
                if not ok:
                    break
                atomic_imwrite(path, frame)
            count += 1
            bar.update()
    finally:
        cap.release()
        bar.close()
    if count == 0:
        raise OSError(f'no frame could be decoded from {video!r}')
    return count


def find_videos(src: str,
                extensions: Sequence[str] = VIDEO_EXTENSIONS) -> List[str]:
    """Sorted video files directly in folder ``src`` (case-insensitive)."""
    if not osp.isdir(src):
        raise FileNotFoundError(f'video folder {src!r} not found')
    return sorted(
        osp.join(src, f) for f in os.listdir(src)
        if f.lower().endswith(tuple(e.lower() for e in extensions)))


def extract_camvid_videos(src: str,
                          out_root: str,
                          extensions: Sequence[str] = VIDEO_EXTENSIONS,
                          skip_existing: bool = True,
                          progress: bool = True) -> Dict[str, int]:
    """Extract every video of ``src`` into ``<out_root>/images_sequence``.

    Frames of all videos are kept side by side (nothing is deleted), named
    ``<video stem>_<frame:06d>.png``.

    Returns:
        dict: Number of frames per video stem.

    Raises:
        FileNotFoundError: ``src`` is missing or holds no video.
    """
    videos = find_videos(src, extensions)
    if not videos:
        raise FileNotFoundError(
            f'no video ({", ".join(extensions)}) in {src!r}')
    out_dir = osp.join(out_root, 'images_sequence')
    counts = {}
    for video in videos:
        stem = osp.splitext(osp.basename(video))[0]
        counts[stem] = extract_video_frames(
            video, out_dir, stem, skip_existing=skip_existing,
            progress=progress)
    return counts
