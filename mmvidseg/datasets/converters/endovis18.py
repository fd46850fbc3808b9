"""EndoVis18 RGB colour labels -> class-id PNGs (``class_labels``).

MS-TFAL's ``generate_noise/to_class_labels.py`` maps every pixel whose RGB
equals the colour of class ``i`` in ``labels.json`` (list order, later
entries win on a repeated colour) to ``i`` and leaves every other pixel at 0
(background). :func:`rgb_to_class_ids` does the same; ``unknown='error'``
refuses colours that are not in ``labels.json`` instead.
"""
import json
import os
import os.path as osp
from functools import partial
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from PIL import Image
from tqdm import tqdm

from mmvidseg.utils.io import atomic_write_mask


def read_label_colors(path: str) -> np.ndarray:
    """Class colours of an EndoVis18 ``labels.json``, in list order.

    Returns:
        np.ndarray: (K, 3) int64 RGB, row ``i`` = class ``i``.

    Raises:
        FileNotFoundError: The file is missing.
        ValueError: It is not a list of entries with a 3-value ``color``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'labels.json {path!r} not found')
    with open(path) as f:
        try:
            entries = json.load(f)
        except json.JSONDecodeError as exc:
            raise ValueError(f'{path!r} is not JSON: {exc}') from exc
    if not isinstance(entries, list) or not entries:
        raise ValueError(f'{path!r}: expected a non-empty list of classes')
    colors = []
    for i, entry in enumerate(entries):
        color = entry.get('color') if isinstance(entry, dict) else None
        if not isinstance(color, (list, tuple)) or len(color) != 3:
            raise ValueError(f'{path!r}: entry {i} has no [R, G, B] "color"')
        colors.append([int(c) for c in color])
    return np.asarray(colors, np.int64)


def rgb_to_class_ids(rgb: np.ndarray,
                     colors: np.ndarray,
                     unknown: str = 'background',
                     name: str = 'label') -> Tuple[np.ndarray, int]:
    """Map an RGB(A) colour label to class ids.

    Args:
        rgb (np.ndarray): (H, W, 3) or (H, W, 4) colour label (alpha
            ignored).
        colors (np.ndarray): (K, 3) class colours (:func:`read_label_colors`).
        unknown (str): ``'background'`` (MS-TFAL: other colours become 0) or
            ``'error'``.
        name (str): The file, for error messages.

    Returns:
        tuple[np.ndarray, int]: (H, W) uint8 ids and the number of pixels
        of an unknown colour.

    Raises:
        ValueError: Not a colour image, or an unknown colour with
            ``unknown='error'`` (the message names the file and colour).
    """
    if unknown not in ('background', 'error'):
        raise ValueError("unknown must be 'background' or 'error', got "
                         f'{unknown!r}')
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f'{name}: expected an RGB colour label, got shape '
                         f'{rgb.shape}')
    rgb = rgb[..., :3].astype(np.int64)
    code = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    ids = np.zeros(code.shape, np.uint8)
    known = np.zeros(code.shape, bool)
    for i, (r, g, b) in enumerate(colors):
        hit = code == ((int(r) << 16) | (int(g) << 8) | int(b))
        ids[hit] = i
        known |= hit
    num_unknown = int(known.size - known.sum())
    if num_unknown and unknown == 'error':
        y, x = np.argwhere(~known)[0]
        raise ValueError(
            f'{name}: colour {tuple(int(c) for c in rgb[y, x])} at (y={y}, '
            f'x={x}) is not in labels.json ({num_unknown} such pixels)')
    return ids, num_unknown


def convert_sequence(seq_dir: str,
                     colors: np.ndarray,
                     src: str = 'labels',
                     dst: str = 'class_labels',
                     unknown: str = 'background',
                     skip_existing: bool = False) -> Tuple[int, int]:
    """Convert ``<seq_dir>/<src>/frame*.png`` into ``<seq_dir>/<dst>/``.

    Returns:
        tuple[int, int]: Files written and pixels of unknown colour.

    Raises:
        FileNotFoundError: ``<seq_dir>/<src>`` is missing or empty.
    """
    src_dir, dst_dir = osp.join(seq_dir, src), osp.join(seq_dir, dst)
    if not osp.isdir(src_dir):
        raise FileNotFoundError(f'label folder {src_dir!r} not found')
    names = sorted(f for f in os.listdir(src_dir) if f.endswith('.png'))
    if not names:
        raise FileNotFoundError(f'no .png label in {src_dir!r}')
    written = odd = 0
    for name in names:
        out = osp.join(dst_dir, name)
        if skip_existing and osp.isfile(out):
            continue
        path = osp.join(src_dir, name)
        with Image.open(path) as img:
            if img.mode not in ('RGB', 'RGBA'):
                img = img.convert('RGB')
            rgb = np.asarray(img)
        ids, n = rgb_to_class_ids(rgb, colors, unknown, path)
        atomic_write_mask(out, ids)
        written += 1
        odd += n
    return written, odd


def find_sequences(root: str, splits: Sequence[str]) -> List[str]:
    """``<root>/<split>/seq_*`` folders, sorted by sequence number.

    Raises:
        FileNotFoundError: A split folder is missing or has no sequence.
    """
    found = []
    for split in splits:
        folder = osp.join(root, split)
        if not osp.isdir(folder):
            raise FileNotFoundError(f'EndoVis18 split folder {folder!r} not '
                                    'found')
        seqs = [d for d in os.listdir(folder) if d.startswith('seq_')
                and d[4:].isdigit() and osp.isdir(osp.join(folder, d))]
        if not seqs:
            raise FileNotFoundError(f'no seq_<n> folder in {folder!r}')
        found += [osp.join(folder, d)
                  for d in sorted(seqs, key=lambda d: int(d[4:]))]
    return found


def convert_endovis18(root: str,
                      splits: Sequence[str] = ('train', 'test'),
                      labels_json: Optional[str] = None,
                      nproc: int = 1,
                      unknown: str = 'background',
                      src: str = 'labels',
                      dst: str = 'class_labels',
                      skip_existing: bool = False,
                      progress: bool = True) -> Dict[str, int]:
    """Write the class-id labels of every sequence of ``splits``.

    Args:
        root (str): EndoVis18 root holding ``train/`` and ``test/``.
        splits (Sequence[str]): Split folders to convert.
        labels_json (str, optional): Class colours. Default
            ``<root>/train/labels.json`` (MS-TFAL uses it for both splits).
        nproc (int): Worker processes, one sequence each (1: no pool).
        unknown (str): See :func:`rgb_to_class_ids`.
        src (str): Colour label sub-folder of each sequence.
        dst (str): Output sub-folder of each sequence.
        skip_existing (bool): Keep output files that already exist.
        progress (bool): Show a progress bar (sequences).

    Returns:
        dict: ``sequences``, ``files`` written and ``unknown_pixels``.
    """
    if nproc < 1:
        raise ValueError(f'nproc must be >= 1, got {nproc}')
    colors = read_label_colors(labels_json or osp.join(root, 'train',
                                                       'labels.json'))
    seqs = find_sequences(root, splits)
    work = partial(convert_sequence, colors=colors, src=src, dst=dst,
                   unknown=unknown, skip_existing=skip_existing)
    bar = tqdm(total=len(seqs), disable=not progress, unit='seq')
    files = odd = 0
    if nproc > 1 and len(seqs) > 1:
        with Pool(min(nproc, len(seqs))) as pool:
            for n, u in pool.imap_unordered(work, seqs):
                files, odd = files + n, odd + u
                bar.update()
    else:
        for seq in seqs:
            n, u = work(seq)
            files, odd = files + n, odd + u
            bar.update()
    bar.close()
    return dict(sequences=len(seqs), files=files, unknown_pixels=odd)
