"""A tiny fake SUN-SEG in the real on-disk layout, for tests.

``make_fake_sunseg(root)`` writes, for every split of SUN-SEG,
``<root>/<split>/Frame/<case>/<name>_image0001.jpg ...`` and the matching
``<root>/<split>/GT/<case>/<name>_image0001.png`` grey masks (0 / 255) of a
disk moving left to right over a textured background.
"""
import os
import os.path as osp
from typing import Dict, List, Tuple

import cv2
import numpy as np

from mmvidseg.datasets.sunseg_dataset import SUNSEG_SPLITS


def fake_frame_name(case: int, frame: int) -> str:
    """A SUN-SEG-style frame stem: fixed prefix per case, 4-digit number."""
    return (f'case_M_2018100{case}094822_0U6236310108592{case}_1_003_001-1_'
            f'a{case}_ayy_image{frame + 1:04d}')


def disk_mask(size: Tuple[int, int], frame: int, frames: int) -> np.ndarray:
    """The 0/255 mask of frame ``frame``: a disk moving left to right."""
    h, w = size
    radius = max(2, min(h, w) // 5)
    cx = radius + (w - 2 * radius) * frame / max(frames - 1, 1)
    yy, xx = np.mgrid[:h, :w]
    inside = (yy - h / 2)**2 + (xx - cx)**2 <= radius**2
    return np.where(inside, 255, 0).astype(np.uint8)


def make_fake_sunseg(root: str,
                     cases: int = 2,
                     frames: int = 6,
                     size: Tuple[int, int] = (40, 48),
                     seed: int = 0) -> Dict[str, List[str]]:
    """Write a fake SUN-SEG under ``root`` (every split).

    Args:
        root (str): Dataset root (``data_root`` of :class:`SUNSEGDataset`).
        cases (int): Cases (videos) per split, named ``case1``, ``case2``...
        frames (int): Frames per case.
        size (tuple[int, int]): Frame size (H, W).
        seed (int): Seed of the background texture.

    Returns:
        dict: ``{split: [case names]}``.
    """
    rng = np.random.RandomState(seed)
    h, w = size
    out = {}
    for split in SUNSEG_SPLITS:
        names = []
        for c in range(1, cases + 1):
            case = f'case{c}'
            names.append(case)
            frame_dir = osp.join(root, split, 'Frame', case)
            gt_dir = osp.join(root, split, 'GT', case)
            os.makedirs(frame_dir, exist_ok=True)
            os.makedirs(gt_dir, exist_ok=True)
            texture = rng.randint(40, 120, (h, w, 3)).astype(np.uint8)
            for f in range(frames):
                mask = disk_mask(size, f, frames)
                img = texture.copy()
                img[mask > 0] = (90, 110, 200)  # reddish polyp (BGR)
                stem = fake_frame_name(c, f)
                cv2.imwrite(osp.join(frame_dir, stem + '.jpg'), img)
                cv2.imwrite(osp.join(gt_dir, stem + '.png'), mask)
        out[split] = names
    return out
