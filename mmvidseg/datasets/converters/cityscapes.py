"""Cityscapes ``*_gtFine_labelIds.png`` -> ``*_gtFine_labelTrainIds.png``."""
import os
import os.path as osp
from multiprocessing import Pool
from typing import List

import cv2
import numpy as np
from tqdm import tqdm

from mmvidseg.utils.io import atomic_imwrite

#: labelId -> trainId of cityscapesScripts' ``labels.py`` (255 = ignore).
LABEL_TO_TRAIN_ID = {
    0: 255, 1: 255, 2: 255, 3: 255, 4: 255, 5: 255, 6: 255,  # void
    7: 0, 8: 1, 9: 255, 10: 255,  # road, sidewalk, parking, rail track
    11: 2, 12: 3, 13: 4, 14: 255, 15: 255, 16: 255,  # construction
    17: 5, 18: 255, 19: 6, 20: 7,  # pole, polegroup, light, sign
    21: 8, 22: 9, 23: 10, 24: 11, 25: 12,  # nature, sky, human
    26: 13, 27: 14, 28: 15, 29: 255, 30: 255,  # car .. caravan, trailer
    31: 16, 32: 17, 33: 18  # train, motorcycle, bicycle
}


def train_id_lut() -> np.ndarray:
    """A 256-entry uint8 lookup table; ids outside the table give 255."""
    lut = np.full(256, 255, np.uint8)
    for label_id, train_id in LABEL_TO_TRAIN_ID.items():
        lut[label_id] = train_id
    return lut


def labelids_to_trainids(label: np.ndarray) -> np.ndarray:
    """Map a labelId image (H, W) to trainIds (uint8)."""
    if label.ndim != 2:
        raise ValueError(
            f'expected a single-channel labelId image, got {label.shape}')
    if label.dtype != np.uint8:
        label = np.clip(label, 0, 255).astype(np.uint8)
    return train_id_lut()[label]


def convert_label_file(src: str, dst: str) -> str:
    """Convert one labelId PNG ``src`` into the trainId PNG ``dst``.

    Raises:
        FileNotFoundError: ``src`` does not exist.
        OSError: ``src`` cannot be decoded.
    """
    if not osp.isfile(src):
        raise FileNotFoundError(f'label file {src!r} not found')
    label = cv2.imread(src, cv2.IMREAD_UNCHANGED)
    if label is None:
        raise OSError(f'cannot decode {src!r} as an image')
    atomic_imwrite(dst, labelids_to_trainids(label))
    return dst


def _convert_pair(pair) -> str:
    return convert_label_file(*pair)


def find_label_files(root: str,
                     suffix: str = '_gtFine_labelIds.png') -> List[str]:
    """Sorted paths of the files under ``root`` ending with ``suffix``."""
    if not osp.isdir(root):
        raise FileNotFoundError(f'folder {root!r} not found')
    found = []
    for folder, _, files in os.walk(root):
        found += [osp.join(folder, f) for f in files if f.endswith(suffix)]
    return sorted(found)


def convert_cityscapes_trainids(root: str,
                                nproc: int = 1,
                                src_suffix: str = '_gtFine_labelIds.png',
                                dst_suffix: str = '_gtFine_labelTrainIds.png',
                                skip_existing: bool = False,
                                progress: bool = True) -> int:
    """Write ``*<dst_suffix>`` beside every ``*<src_suffix>`` under ``root``.

    Args:
        root (str): Folder searched recursively (e.g. ``gtFine``).
        nproc (int): Worker processes (1: no pool).
        src_suffix (str): Suffix of the labelId files.
        dst_suffix (str): Suffix of the trainId files written.
        skip_existing (bool): Keep trainId files that already exist.
        progress (bool): Show a tqdm progress bar.

    Returns:
        int: The number of files written.

    Raises:
        FileNotFoundError: ``root`` is missing or holds no labelId file.
    """
    srcs = find_label_files(root, src_suffix)
    if not srcs:
        raise FileNotFoundError(f'no *{src_suffix} file under {root!r}')
    pairs = [(s, s[:-len(src_suffix)] + dst_suffix) for s in srcs]
    if skip_existing:
        pairs = [p for p in pairs if not osp.isfile(p[1])]
    bar = tqdm(total=len(pairs), disable=not progress, unit='file')
    if nproc > 1 and len(pairs) > 1:
        with Pool(nproc) as pool:
            for _ in pool.imap_unordered(_convert_pair, pairs, chunksize=8):
                bar.update()
    else:
        for pair in pairs:
            _convert_pair(pair)
            bar.update()
    bar.close()
    return len(pairs)
