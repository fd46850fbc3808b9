"""Write predicted masks of a test run as PNGs, one folder per video."""
import os.path as osp
from typing import Optional, Sequence

import numpy as np
from mmengine.hooks import Hook

from mmvidseg.registry import HOOKS
from mmvidseg.utils.io import atomic_imwrite


@HOOKS.register_module()
class VideoPredictionWriterHook(Hook):
    """Save ``pred_sem_seg`` of every tested frame.

    Files go to ``out_dir/<video_id>/<frame file stem>.png`` (single-channel
    class ids), each written atomically, so an interrupted run leaves only
    complete files. ``tools/test.py --out DIR`` adds this hook.

    Args:
        out_dir (str): Output folder.
    """
    priority = 'LOW'

    def __init__(self, out_dir: str) -> None:
        self.out_dir = out_dir

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
            if pred.max(initial=0) > 255:
                raise ValueError('class ids above 255 cannot be saved as '
                                 'an 8-bit PNG')
            atomic_imwrite(
                osp.join(self.out_dir, video, f'{stem}.png'),
                pred.astype(np.uint8))
