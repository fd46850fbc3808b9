"""A tiny fake EndoVis18 in the real on-disk layout (MS-TFAL), for tests.

``make_fake_endovis18(root)`` writes, for the train and test splits,
``<root>/<split>/seq_<n>/left_frames/frameXXX.png`` (RGB frames),
``labels/frameXXX.png`` (RGB colour labels), ``class_labels/frameXXX.png``
(class ids, what the converter writes), ``<root>/train/labels.json`` and a
noisy label folder ``<root>/train_noisy_label/<noisy_name>/seq_<n>/``.
The scene: a shaft (class 1) bar sliding right, a kidney (class 4) disk and,
in odd frames, a needle (class 8) square; the noisy labels shift the bar.
"""
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
from PIL import Image

from mmvidseg.datasets.endovis18_dataset import (ENDOVIS18_CLASSES,
                                                 ENDOVIS18_PALETTE)

NOISY_NAME = 'noisy_scene_labels_final_mask_v0'


def fake_class_ids(size: Tuple[int, int], frame: int,
                   noisy: bool = False) -> np.ndarray:
    """(H, W) uint8 class ids of frame ``frame`` of the fake scene."""
    h, w = size
    ids = np.zeros((h, w), np.uint8)
    yy, xx = np.mgrid[:h, :w]
    ids[(yy - h * 0.7)**2 + (xx - w * 0.7)**2 <= (min(h, w) / 5)**2] = 4
    x0 = (frame * 3 + (2 if noisy else 0)) % max(w - w // 4, 1)
    ids[h // 4:h // 4 + max(h // 6, 2), x0:x0 + w // 4] = 1
    if frame % 2:
        ids[2:5, 2:5] = 8
    return ids


def make_fake_endovis18(root: str,
                        seqs: Sequence[int] = (1, 2),
                        frames: int = 6,
                        size: Tuple[int, int] = (32, 40),
                        test_seqs: Optional[Sequence[int]] = None,
                        noisy_name: str = NOISY_NAME,
                        seed: int = 0) -> Dict[str, object]:
    """Write a fake EndoVis18 under ``root``.

    Args:
        root (str): Dataset root (``data_root`` of
            :class:`EndoVis18Dataset`).
        seqs (Sequence[int]): Train sequences (``seq_<n>``).
        frames (int): Frames per sequence.
        size (tuple[int, int]): Frame size (H, W).
        test_seqs (Sequence[int], optional): Test sequences (default
            ``seqs``).
        noisy_name (str): Noisy label folder under ``train_noisy_label``.
        seed (int): Seed of the frame texture.

    Returns:
        dict: ``train`` / ``test`` (sequence names), ``labels_json`` and
        ``noisy_label_dir`` (the ``label_dir`` template of the noisy
        labels).
    """
    rng = np.random.RandomState(seed)
    palette = np.asarray(ENDOVIS18_PALETTE, np.uint8)
    os.makedirs(osp.join(root, 'train'), exist_ok=True)
    labels_json = osp.join(root, 'train', 'labels.json')
    with open(labels_json, 'w') as f:
        json.dump([dict(name=n, classid=i, color=list(map(int, palette[i])))
                   for i, n in enumerate(ENDOVIS18_CLASSES)], f)
    out = dict(labels_json=labels_json,
               noisy_label_dir=f'train_noisy_label/{noisy_name}/{{seq}}')
    splits = dict(train=seqs, test=seqs if test_seqs is None else test_seqs)
    for split, numbers in splits.items():
        out[split] = [f'seq_{n}' for n in numbers]
        for seq in out[split]:
            seq_dir = osp.join(root, split, seq)
            dirs = [osp.join(seq_dir, d) for d in
                    ('left_frames', 'labels', 'class_labels')]
            noisy_dir = osp.join(root, 'train_noisy_label', noisy_name, seq)
            for d in dirs + ([noisy_dir] if split == 'train' else []):
                os.makedirs(d, exist_ok=True)
            for t in range(frames):
                name = f'frame{t:03d}.png'
                ids = fake_class_ids(size, t)
                img = rng.randint(0, 256, size + (3, )).astype(np.uint8)
                img[ids > 0] = palette[ids[ids > 0]] // 2 + 60
                Image.fromarray(img).save(osp.join(dirs[0], name))
                Image.fromarray(palette[ids]).save(osp.join(dirs[1], name))
                Image.fromarray(ids).save(osp.join(dirs[2], name))
                if split == 'train':
                    Image.fromarray(fake_class_ids(size, t, True)).save(
                        osp.join(noisy_dir, name))
    return out
