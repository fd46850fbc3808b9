"""Registered dataset of procedural videos (embedded default data)."""
import hashlib
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import List, Optional, Tuple

import cv2

from mmvidseg.registry import DATASETS

from .base_video_dataset import BaseVideoDataset
from .procedural_video import class_names, class_palette, render_video

DEFAULT_CACHE = osp.join('~', '.cache', 'mmvidseg', 'procedural')


@DATASETS.register_module()
class ProceduralVideoDataset(BaseVideoDataset):
    """Textured moving/occluding shapes with exact masks, from a seed.

    The videos are rendered once into a cache folder (PNG frames and masks in
    the :class:`VideoFolderDataset` layout) named after the generation
    parameters, written to a temporary folder and renamed so that concurrent
    processes (DDP ranks) never see a half-written cache. Video ``i`` uses
    seed ``seed * 100003 + i``, so train and val splits are disjoint when their
    seeds differ.

    Args:
        num_videos (int): Number of videos.
        num_frames (int): Frames per video.
        num_classes (int): Classes including background.
        img_size (tuple[int, int]): Frame size (H, W).
        seed (int): Split seed.
        label_every (int): Keep the label of every n-th frame only (the
            others are unlabelled, as in sparsely annotated datasets).
        cache_dir (str, optional): Where to render; defaults to
            ``$MMVIDSEG_CACHE_DIR`` or ``~/.cache/mmvidseg/procedural``.
        **kwargs: See :class:`BaseVideoDataset` (pipeline, test_mode, ...).
    """

    def __init__(self,
                 num_videos: int = 8,
                 num_frames: int = 16,
                 num_classes: int = 4,
                 img_size: Tuple[int, int] = (96, 96),
                 seed: int = 0,
                 label_every: int = 1,
                 cache_dir: Optional[str] = None,
                 **kwargs) -> None:
        if label_every < 1:
            raise ValueError('label_every must be >= 1')
        self.gen_cfg = dict(
            num_videos=int(num_videos),
            num_frames=int(num_frames),
            num_classes=int(num_classes),
            img_size=[int(s) for s in img_size],
            seed=int(seed))
        self.label_every = int(label_every)
        self.cache_dir = osp.expanduser(
            cache_dir or os.environ.get('MMVIDSEG_CACHE_DIR')
            or DEFAULT_CACHE)
        metainfo = kwargs.pop('metainfo', None) or dict(
            classes=class_names(num_classes),
            palette=class_palette(num_classes))
        super().__init__(metainfo=metainfo, **kwargs)

    @property
    def render_root(self) -> str:
        key = hashlib.sha1(json.dumps(self.gen_cfg, sort_keys=True).encode())
        return osp.join(self.cache_dir, key.hexdigest()[:12])

    def _render(self) -> None:
        root = self.render_root
        if osp.isfile(osp.join(root, 'meta.json')):
            return
        os.makedirs(self.cache_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix='.tmp-', dir=self.cache_dir)
        try:
            cfg = self.gen_cfg
            for i in range(cfg['num_videos']):
                frames, masks = render_video(
                    cfg['seed'] * 100003 + i, cfg['num_frames'],
                    tuple(cfg['img_size']), cfg['num_classes'])
                vid = f'video_{i:03d}'
                for sub in ('frames', 'masks'):
                    os.makedirs(osp.join(tmp, sub, vid))
                for t, (img, mask) in enumerate(zip(frames, masks)):
                    cv2.imwrite(osp.join(tmp, 'frames', vid, f'{t:05d}.png'),
                                img)
                    cv2.imwrite(osp.join(tmp, 'masks', vid, f'{t:05d}.png'),
                                mask)
            with open(osp.join(tmp, 'meta.json'), 'w') as f:
                json.dump(cfg, f)
            try:
                os.rename(tmp, root)
            except OSError:  # another process rendered it first
                if not osp.isfile(osp.join(root, 'meta.json')):
                    raise
        finally:
            if osp.isdir(tmp):
                shutil.rmtree(tmp, ignore_errors=True)

    def load_video_table(self) -> List[dict]:
        self._render()
        root = self.render_root
        table = self.scan_video_folders(
            osp.join(root, 'frames'), osp.join(root, 'masks'), ('.png', ))
        for video in table:
            video['seg_map_paths'] = [
                p if i % self.label_every == 0 else None
                for i, p in enumerate(video['seg_map_paths'])
            ]
        return table
