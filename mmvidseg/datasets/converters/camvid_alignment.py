"""Check that extracted CamVid video frames line up with the labelled ones."""
import os
import os.path as osp
import re
from collections import Counter
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from tqdm import tqdm

#: ``<sequence>_<prefix><frame number>`` (``Seq05VD_f00030``,
#: ``0001TP_006690``), as :class:`CamVidVideoDataset` parses names.
_NAME = re.compile(r'^([^_]+)_([^\d-]*)(\d+)$')
_SUFFIXES = ('.png', '.jpg', '.jpeg', '.bmp')


def _index(folder: str) -> Dict[str, Dict[int, str]]:
    """``{sequence: {frame number: path}}`` of the images of ``folder``."""
    out: Dict[str, Dict[int, str]] = {}
    for fname in sorted(os.listdir(folder)):
        stem, ext = osp.splitext(fname)
        m = _NAME.match(stem)
        if ext.lower() in _SUFFIXES and m is not None:
            out.setdefault(m.group(1), {})[int(m.group(3))] = osp.join(
                folder, fname)
    return out


def _read_small(path: str, size: Tuple[int, int]) -> np.ndarray:
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None:
        raise OSError(f'cannot read image {path!r}')
    return cv2.resize(img, size, interpolation=cv2.INTER_AREA).astype(
        np.float32)


def _psnr(mse: float) -> float:
    return float('inf') if mse <= 0 else 10 * np.log10(255.0**2 / mse)


def check_camvid_alignment(root: str,
                           max_offset: int = 3,
                           size: Tuple[int, int] = (160, 120),
                           videos: Optional[Sequence[str]] = None,
                           progress: bool = True) -> List[dict]:
    """Compare each labelled CamVid image with the extracted video frames.

    For every ``<root>/images/<seq>_<n>.png`` the frames
    ``<root>/images_sequence/<seq>_<n + d>.*`` with ``|d| <= max_offset`` are
    resized with it to ``size`` and compared by mean absolute difference;
    the ``d`` of the smallest difference (ties: the smallest ``|d|``) is
    that image's offset. A labelled image *lines up* when its offset is 0,
    i.e. the frame named like it is the most similar one. Offset ``+1``
    means ``images/<seq>_<n>`` looks like ``images_sequence/<seq>_<n+1>``:
    the extracted frames are numbered one too high.

    Args:
        root (str): CamVid root in the TMANet layout.
        max_offset (int): Largest offset tried.
        size (tuple[int, int]): (W, H) both images are resized to.
        videos (Sequence[str], optional): Sequences to check (default: all
            of ``images/``).
        progress (bool): Show a tqdm progress bar.

    Returns:
        list[dict]: One row per sequence: ``video``, ``labelled`` (images),
        ``found`` (with a frame of the same number), ``aligned`` (offset 0),
        ``offset`` (most common offset, ``None`` if no frame was found),
        ``psnr0`` / ``psnr_best`` (median PSNR in dB at offset 0 and at
        each image's best offset, ``nan`` if none) and ``mismatches``
        (names of the images that do not line up, in order).

    Raises:
        FileNotFoundError: ``images/`` or ``images_sequence/`` is missing,
            or a requested sequence has no labelled image.
    """
    img_dir = osp.join(root, 'images')
    seq_dir = osp.join(root, 'images_sequence')
    for d in (img_dir, seq_dir):
        if not osp.isdir(d):
            raise FileNotFoundError(f'CamVid folder {d!r} not found')
    labelled = _index(img_dir)
    frames = _index(seq_dir)
    names = sorted(labelled) if videos is None else list(videos)
    for name in names:
        if name not in labelled:
            raise FileNotFoundError(
                f'no labelled image of sequence {name!r} in {img_dir!r}')
    total = sum(len(labelled[n]) for n in names)
    bar = tqdm(total=total, disable=not progress, unit='image')
    rows = []
    for name in names:
        seq_frames = frames.get(name, {})
        cache: Dict[int, np.ndarray] = {}
        found, offsets, psnr0, psnr_best, mismatches = 0, [], [], [], []
        for num, path in sorted(labelled[name].items()):
            bar.update()
            label_img = _read_small(path, size)
            errs = {}
            for d in range(-max_offset, max_offset + 1):
                if num + d not in seq_frames:
                    continue
                if num + d not in cache:
                    cache[num + d] = _read_small(seq_frames[num + d], size)
                diff = cache[num + d] - label_img
                errs[d] = (float(np.abs(diff).mean()),
                           float((diff**2).mean()))
            for old in [k for k in cache if k < num - max_offset]:
                del cache[old]
            stem = osp.splitext(osp.basename(path))[0]
            if 0 in errs:
                found += 1
                psnr0.append(_psnr(errs[0][1]))
            if not errs:
                mismatches.append(stem)
                continue
            best = min(errs, key=lambda d: (errs[d][0], abs(d), d))
            offsets.append(best)
            psnr_best.append(_psnr(errs[best][1]))
            if best != 0:
                mismatches.append(stem)
        common = Counter(offsets).most_common()
        top = max((c for _, c in common), default=0)
        rows.append(
            dict(
                video=name,
                labelled=len(labelled[name]),
                found=found,
                aligned=offsets.count(0),
                offset=min((d for d, c in common if c == top),
                           key=abs, default=None),
                psnr0=float(np.median(psnr0)) if psnr0 else float('nan'),
                psnr_best=(float(np.median(psnr_best))
                           if psnr_best else float('nan')),
                mismatches=mismatches))
    bar.close()
    return rows


def format_alignment_table(rows: Sequence[dict]) -> str:
    """The rows of :func:`check_camvid_alignment` as a text table."""
    head = ('video', 'labelled', 'found', 'lined up', 'best offset',
            'PSNR@0 dB', 'PSNR@best dB')
    lines = [head]
    for r in rows:
        off = '-' if r['offset'] is None else f"{r['offset']:+d}"
        lines.append((r['video'], str(r['labelled']), str(r['found']),
                      str(r['aligned']), off, f"{r['psnr0']:.1f}",
                      f"{r['psnr_best']:.1f}"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ['  '.join(c.rjust(w) if i else c.ljust(w)
                     for i, (c, w) in enumerate(zip(line, widths)))
           for line in lines]
    return '\n'.join(out)


def alignment_problems(rows: Sequence[dict]) -> List[str]:
    """One sentence per sequence whose labelled images do not all line up."""
    problems = []
    for r in rows:
        if r['aligned'] == r['labelled']:
            continue
        first = ', '.join(r['mismatches'][:3])
        if r['offset'] is None:
            problems.append(
                f"{r['video']}: no extracted frame is named like its "
                f"{r['labelled']} labelled images (e.g. {first})")
        else:
            problems.append(
                f"{r['video']}: {r['labelled'] - r['aligned']} of "
                f"{r['labelled']} labelled images do not line up (e.g. "
                f"{first}); most common offset {r['offset']:+d}")
    return problems
