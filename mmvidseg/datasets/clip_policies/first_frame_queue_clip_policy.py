"""First frame plus a queue of the previous frames (label propagation)."""
from typing import List, Optional, Sequence, Tuple

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy


@TASK_UTILS.register_module()
class FirstFrameQueueClipPolicy(BaseClipPolicy):
    """``[0, f - L, ..., f - 1, f]`` with indices below 0 padded by frame 0.

    This is the CRW / videowalk context: the first (annotated) frame is always
    kept and the ``queue_len`` previous frames follow, padded with copies of
    frame 0 at the start of the video. The key frame is last.

    Args:
        queue_len (int): Number of previous frames ``L``.
    """

    def __init__(self, queue_len: int = 20) -> None:
        if queue_len < 0:
            raise ValueError('queue_len must be >= 0')
        self.queue_len = int(queue_len)

    @property
    def clip_len(self) -> int:
        return self.queue_len + 2

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        queue = [max(i, 0) for i in range(key_frame - self.queue_len,
                                          key_frame)]
        ids = [0] + queue + [key_frame]
        return ids, len(ids) - 1
