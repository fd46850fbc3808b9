"""Reference frames drawn at random within a maximum temporal skip."""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy


@TASK_UTILS.register_module()
class RandomSkipClipPolicy(BaseClipPolicy):
    """``num_refs`` past frames drawn from ``[key - max_skip, key - 1]``.

    Frames are drawn without replacement when enough are available and with
    replacement otherwise; at the first frame of a video every reference is
    the first frame. The clip is sorted oldest first and ends with the key
    frame. ``max_skip`` is what curricula (SALI, STCN) change during training.
    Randomness comes from numpy's global generator, which mmengine seeds per
    dataloader worker.

    Args:
        num_refs (int): Number of reference frames.
        max_skip (int): Largest distance between a reference and the key.
    """

    def __init__(self, num_refs: int = 2, max_skip: int = 5) -> None:
        if num_refs < 1 or max_skip < 1:
            raise ValueError('num_refs and max_skip must be >= 1')
        self.num_refs = int(num_refs)
        self.max_skip = int(max_skip)

    @property
    def clip_len(self) -> int:
        return self.num_refs + 1

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        lo = max(key_frame - self.max_skip, 0)
        candidates = np.arange(lo, key_frame)
        if len(candidates) == 0:
            refs = [key_frame] * self.num_refs
        else:
            replace = len(candidates) < self.num_refs
            refs = np.random.choice(
                candidates, self.num_refs, replace=replace).tolist()
        ids = sorted(int(r) for r in refs) + [key_frame]
        return ids, len(ids) - 1
