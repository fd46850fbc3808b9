"""Clip of the key frame and frames at fixed offsets from it."""
from typing import List, Optional, Sequence, Tuple

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy


@TASK_UTILS.register_module()
class FixedOffsetClipPolicy(BaseClipPolicy):
    """Key frame plus the frames at fixed offsets (TMANet-style memory).

    Offsets are relative to the key frame, e.g. ``(-2, -1)`` for the two
    previous frames or ``(-1, 1)`` for a past and a future neighbour. Indices
    that fall outside the video are clamped to its first/last frame, so the
    first frames of a video use the first frame repeated as memory (the TMANet
    authors' guidance). The clip is returned oldest frame first.

    Args:
        offsets (Sequence[int]): Non-zero offsets of the reference frames.
    """

    def __init__(self, offsets: Sequence[int] = (-2, -1)) -> None:
        offsets = [int(o) for o in offsets]
        if 0 in offsets:
            raise ValueError('offset 0 is the key frame; leave it out')
        if len(set(offsets)) != len(offsets):
            raise ValueError(f'repeated offsets in {offsets}')
        self.offsets = sorted(offsets)

    @property
    def clip_len(self) -> int:
        return len(self.offsets) + 1

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        rel = sorted(self.offsets + [0])
        ids = [min(max(key_frame + o, 0), num_frames - 1) for o in rel]
        return ids, rel.index(0)
