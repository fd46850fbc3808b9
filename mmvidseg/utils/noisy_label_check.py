"""The MS-TFAL real-data check: the plain segmenter and MS-TFAL trained
with the same budget on noisy labels of the CholecSeg8k clip, both scored
against the clean labels.

The 72 frames become four EndoVis18-layout sequences of 18 frames:
``seq_1``..``seq_3`` for training (their labels noised by the project's
generator), ``seq_4`` held out (clean). CholecSeg8k class codes map to
consecutive ids (``CHOLEC_TO_ID``; unlabelled 255 and codes absent from the
clip to background 0).
"""
import copy
import json
import os
import os.path as osp
from typing import Dict, Optional, Sequence

import cv2
import numpy as np
from mmengine.config import Config

from .io import atomic_write_bytes

#: CholecSeg8k codes present in the clip -> EndoVis18-style ids (<= 11).
CHOLEC_TO_ID = {50: 0, 11: 1, 12: 2, 13: 3, 21: 4, 22: 5, 31: 6, 32: 7}
CHOLEC_NAMES = ('background', 'abdominal wall', 'fat', 'GI tract', 'liver',
                'gallbladder', 'grasper', 'L-hook electrocautery')


def cholec_ids(codes: np.ndarray) -> np.ndarray:
    """(H, W) CholecSeg8k codes -> uint8 ids (others: 0)."""
    lut = np.zeros(256, np.uint8)
    for code, idx in CHOLEC_TO_ID.items():
        lut[code] = idx
    return lut[codes]


def build_cholec_endovis(clip_dir: str, out_root: str,
                         frames_per_seq: int = 18,
                         size: Optional[Sequence[int]] = None) -> Dict:
    """Write the clip as ``out_root/{train,test}/seq_<n>/{left_frames,
    class_labels}/frameXXX.png`` (seq_1..3 train, seq_4 test).

    Args:
        clip_dir (str): ``cholecseg8k_clip`` (``frames/``, ``masks/``).
        out_root (str): Output data root.
        frames_per_seq (int): Frames per sequence.
        size (Sequence[int], optional): (W, H) to store the frames at
            (labels nearest); default: the original size.
    """
    names = sorted(os.listdir(osp.join(clip_dir, 'frames')))
    if len(names) < 4 * frames_per_seq:
        raise ValueError(f'{clip_dir}: {len(names)} frames, need '
                         f'{4 * frames_per_seq}')
    layout = {}
    for s in range(4):
        split = 'train' if s < 3 else 'test'
        seq = f'seq_{s + 1}'
        fdir = osp.join(out_root, split, seq, 'left_frames')
        ldir = osp.join(out_root, split, seq, 'class_labels')
        os.makedirs(fdir, exist_ok=True)
        os.makedirs(ldir, exist_ok=True)
        for i, name in enumerate(
                names[s * frames_per_seq:(s + 1) * frames_per_seq]):
            frame = cv2.imread(osp.join(clip_dir, 'frames', name))
            codes = cv2.imread(
                osp.join(clip_dir, 'masks',
                         osp.splitext(name)[0] + '.png'),
                cv2.IMREAD_GRAYSCALE)
            if frame is None or codes is None:
                raise FileNotFoundError(f'{clip_dir}: cannot read {name} '
                                        'or its mask')
            ids = cholec_ids(codes)
            if size is not None:
                frame = cv2.resize(frame, tuple(size),
                                   interpolation=cv2.INTER_AREA)
                ids = cv2.resize(ids, tuple(size),
                                 interpolation=cv2.INTER_NEAREST)
            cv2.imwrite(osp.join(fdir, f'frame{i:03d}.png'), frame)
            cv2.imwrite(osp.join(ldir, f'frame{i:03d}.png'), ids)
        layout.setdefault(split, []).append(s + 1)
    return layout


def check_configs(mstfal_config: str, data_root: str, work_dir: str,
                  epochs: int = 8, stage_epochs=(2, 4, 6),
                  scale=(224, 128), noisy: str = 'noisy',
                  workers: int = 0, seed: int = 0) -> Dict[str, str]:
    """Two configs (``plain`` and ``mstfal``) for the check, same budget,
    written to ``work_dir``; returns their paths."""
    base = Config.fromfile(mstfal_config)
    base.model.backbone.init_cfg = None  # no ImageNet download offline
    base.model.loss.n_min = scale[0] * scale[1] // 16
    base.optim_wrapper = dict(type='OptimWrapper',
                              optimizer=dict(type='Adam', lr=1e-4))
    label_dir = f'train_noisy_label/{noisy}/{{seq}}/class_labels'
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = base[name]
        loader.num_workers = workers
        loader.persistent_workers = workers > 0
        loader.dataset.data_root = data_root
    for name in ('val_dataloader', 'test_dataloader'):
        base[name].dataset.update(videos=[4], frame_step=1, frame_offset=0)
    base.train_dataloader.dataset.update(videos=[1, 2, 3],
                                         label_dir=label_dir)
    _set_scale(base._cfg_dict, tuple(scale))
    base.train_cfg.max_epochs = epochs
    # the same initial weights and data order for both runs
    base.randomness = dict(seed=seed, deterministic=False)
    base.default_hooks.logger.interval = 20
    hook = base.custom_hooks[0]
    hook.update(stage_epochs=tuple(stage_epochs),
                rank_weights=(0.4, 0.7, 1.0), num_uncertain=1)
    hook.reliability_dataloader.num_workers = workers
    hook.reliability_dataloader.dataset.update(
        data_root=data_root, videos=[1, 2, 3], label_dir=label_dir)
    paths = {}
    os.makedirs(work_dir, exist_ok=True)
    for kind in ('plain', 'mstfal'):
        cfg = copy.deepcopy(base)
        if kind == 'plain':
            cfg.custom_hooks = []
        cfg.work_dir = osp.join(work_dir, kind)
        paths[kind] = osp.join(work_dir, f'{kind}.py')
        cfg.dump(paths[kind])
    return paths


def _set_scale(obj, scale) -> None:
    if isinstance(obj, dict):
        if obj.get('type') == 'SoftMaskResize':
            obj['scale'] = scale
        for v in obj.values():
            _set_scale(v, scale)
    elif isinstance(obj, list):
        for v in obj:
            _set_scale(v, scale)


def write_report(path: str, report: dict) -> None:
    atomic_write_bytes(path, json.dumps(report, indent=2).encode())
