"""Extract every frame of the CamVid videos for the TMANet layout."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
from tqdm import tqdm

from mmvidseg.utils.io import atomic_imwrite

VIDEO_EXTENSIONS = ('.mxf', '.avi', '.mp4')

#: TMANet's frame names (``tools/convert_datasets/camvid_video_process.py``):
#: video stem -> (frame name pattern, number of the first decoded frame), so
#: that ``images_sequence/<name>.png`` matches the labelled ``images/``.
CAMVID_TMANET_NAMING: Dict[str, Tuple[str, int]] = {
    '0005VD': ('Seq05VD_f{:05d}', -1),
    '0006R0': ('0006R0_f{:05d}', -1),
    '0016E5': ('0016E5_{:05d}', -1),
    '01TP_extract': ('0001TP_{:06d}', 6660),
}
NAMINGS = ('stem', 'tmanet')


def extract_video_frames(video: str,
                         out_dir: str,
                         name: Optional[str] = None,
                         skip_existing: bool = True,
                         progress: bool = True,
                         name_tmpl: Optional[str] = None,
                         first_number: int = 0) -> int:
    """Write every frame of ``video`` to ``out_dir``.

    Frame ``i`` (counted from 0 by decoding the whole video; the container's
    frame count is not trusted) gets the number ``first_number + i`` and is
    written to ``<out_dir>/<name_tmpl.format(number)>.png``, by default
    ``<name>_<number:06d>.png``. Frames with a negative number are decoded
    but not written (TMANet's ``-1`` offset names the first frame of three
    videos ``..._f-0001``, which no label refers to). Existing frame files
    are kept (with ``skip_existing``), so an interrupted extraction resumes;
    every file is written atomically.

    Args:
        video (str): Video file readable by OpenCV.
        out_dir (str): Output folder (created if needed).
        name (str, optional): Frame name prefix; the video file stem.
        skip_existing (bool): Do not rewrite frames already extracted.
        progress (bool): Show a tqdm progress bar.
        name_tmpl (str, optional): ``str.format`` pattern of a frame's file
            stem given its number, e.g. ``'Seq05VD_f{:05d}'``.
        first_number (int): Number of the first decoded frame.

    Returns:
        int: The number of frames of the video.

    Raises:
        FileNotFoundError: ``video`` does not exist.
        OSError: OpenCV cannot open it or decodes no frame.
    """
    if not osp.isfile(video):
        raise FileNotFoundError(f'video {video!r} not found')
    name = name or osp.splitext(osp.basename(video))[0]
    name_tmpl = name_tmpl or name.replace('{', '{{').replace(
        '}', '}}') + '_{:06d}'
    cap = cv2.VideoCapture(video)
    if not cap.isOpened():
        raise OSError(f'OpenCV cannot open video {video!r}')
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or None
    os.makedirs(out_dir, exist_ok=True)
    bar = tqdm(total=total, desc=name, disable=not progress, unit='frame')
    count = 0
    try:
        while True:
            number = first_number + count
            path = osp.join(out_dir, name_tmpl.format(number) + '.png')
            if number < 0 or (skip_existing and osp.isfile(path)):
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
                          progress: bool = True,
                          naming: str = 'stem') -> Dict[str, int]:
    """Extract every video of ``src`` into ``<out_root>/images_sequence``.

    Frames of all videos are kept side by side (nothing is deleted). With
    ``naming='stem'`` they are named ``<video stem>_<frame:06d>.png`` (frame
    0 = first decoded frame); with ``naming='tmanet'`` as TMANet's
    ``camvid_video_process.py`` names them (:data:`CAMVID_TMANET_NAMING`:
    ``0005VD.MXF`` -> ``Seq05VD_f<n:05d>``, ``0006R0`` / ``0016E5`` keep
    their names, first frame number -1; ``01TP_extract.avi`` ->
    ``0001TP_<n:06d>`` from 6660), which the CamVid labels use. Check the
    result with :func:`check_camvid_alignment`.

    Returns:
        dict: Number of frames per video stem.

    Raises:
        FileNotFoundError: ``src`` is missing or holds no video.
        ValueError: Unknown ``naming``, or a video that is not one of the
            CamVid videos with ``naming='tmanet'``.
    """
    if naming not in NAMINGS:
        raise ValueError(f'naming must be one of {NAMINGS}, got {naming!r}')
    videos = find_videos(src, extensions)
    if not videos:
        raise FileNotFoundError(
            f'no video ({", ".join(extensions)}) in {src!r}')
    stems = [osp.splitext(osp.basename(v))[0] for v in videos]
    if naming == 'tmanet':
        unknown = [v for v, s in zip(videos, stems)
                   if s not in CAMVID_TMANET_NAMING]
        if unknown:
            raise ValueError(
                f'video {unknown[0]!r} is not a CamVid video of the TMANet '
                f'naming (stems {sorted(CAMVID_TMANET_NAMING)})')
    out_dir = osp.join(out_root, 'images_sequence')
    counts = {}
    for video, stem in zip(videos, stems):
        tmpl, first = (CAMVID_TMANET_NAMING[stem] if naming == 'tmanet' else
                       (None, 0))
        counts[stem] = extract_video_frames(
            video, out_dir, stem, skip_existing=skip_existing,
            progress=progress, name_tmpl=tmpl, first_number=first)
    return counts
