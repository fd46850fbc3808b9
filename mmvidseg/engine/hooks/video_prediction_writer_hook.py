"""Write predicted masks of a test run as PNGs, one folder per video."""
import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
from mmengine.hooks import Hook

from mmvidseg.registry import HOOKS
from mmvidseg.utils.io import atomic_write_mask


@HOOKS.register_module()
class VideoPredictionWriterHook(Hook):
    """Save ``pred_sem_seg`` of every tested frame.

    Files go to ``out_dir/<video_id>/<frame file stem>.png``, each written
    atomically, so an interrupted run leaves only complete files: class ids
    as a greyscale PNG, or, with a palette, an indexed (palette) PNG as the
    DAVIS results format requires. ``tools/test.py --out DIR`` adds this
    hook with the config's ``prediction_writer`` options.

    Args:
        out_dir (str): Output folder.
        palette (str | list, optional): ``'davis'`` or a list of RGB
            colours: write palette PNGs.
    """
    priority = 'LOW'

    def __init__(self, out_dir: str,
                 palette: Optional[Union[str, list]] = None) -> None:
        self.out_dir = out_dir
        if palette == 'davis':
            from mmvidseg.datasets.davis_dataset import davis_palette
            palette = davis_palette()
        elif isinstance(palette, str):
            raise ValueError(f"unknown palette {palette!r}; use 'davis' or "
                             'a list of RGB colours')
        self.palette = (None if palette is None else
                        np.asarray(palette, np.uint8).reshape(-1).tolist())

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch: Optional[dict] = None,
                        outputs: Optional[Sequence] = None) -> None:
        for sample in outputs or []:
            meta = sample.metainfo
            video = str(meta.get('video_id', 'video'))
            stem = osp.splitext(osp.basename(meta['img_path']))[0]
            pred = sample.pred_sem_seg.data[0].cpu().numpy()
            atomic_write_mask(
                osp.join(self.out_dir, video, f'{stem}.png'), pred,
                self.palette)
