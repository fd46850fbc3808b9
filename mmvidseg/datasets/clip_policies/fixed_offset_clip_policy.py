"""Clip of the key frame and frames at fixed offsets from it."""
from bisect import bisect_left
from typing import List, Optional, Sequence, Tuple

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy, MissingFrameError


@TASK_UTILS.register_module()
class FixedOffsetClipPolicy(BaseClipPolicy):
    """Key frame plus the frames at fixed offsets (TMANet-style memory).

    Offsets are relative to the key frame, e.g. ``(-2, -1)`` for the two
    previous frames or ``(-1, 1)`` for a past and a future neighbour. The
    clip is returned oldest frame first.

    When the dataset gives frame numbers (``frame_numbers`` of the video
    table: CamVid in the TMANet layout, Cityscapes sequences), a reference
    frame is the frame numbered ``key number + offset``, as TMANet names its
    memory frames. A number inside the video that is absent from it raises
    :class:`MissingFrameError` (``missing_frames='error'``, the original
    fails on the missing file too) or takes the available frame nearest in
    number (``'nearest'``, ties to the earlier frame). Otherwise (no
    frame numbers, e.g. CamVid in the SegNet layout whose table holds only
    the labelled frames), offsets count positions in the frame table.

    Either way, a reference before the first (after the last) frame of the
    video is clamped to that frame, so the first frames of a video use the
    first frame repeated as memory (the TMANet authors' guidance).

    Args:
        offsets (Sequence[int]): Non-zero offsets of the reference frames.
        missing_frames (str): ``'error'`` (default) or ``'nearest'``; only
            used with frame numbers.
    """

    def __init__(self,
                 offsets: Sequence[int] = (-2, -1),
                 missing_frames: str = 'error') -> None:
        offsets = [int(o) for o in offsets]
        if 0 in offsets:
            raise ValueError('offset 0 is the key frame; leave it out')
        if len(set(offsets)) != len(offsets):
            raise ValueError(f'repeated offsets in {offsets}')
        if missing_frames not in ('error', 'nearest'):
            raise ValueError("missing_frames must be 'error' or 'nearest', "
                             f'got {missing_frames!r}')
        self.offsets = sorted(offsets)
        self.missing_frames = missing_frames

    @property
    def clip_len(self) -> int:
        return len(self.offsets) + 1

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        rel = sorted(self.offsets + [0])
        ids = [min(max(key_frame + o, 0), num_frames - 1) for o in rel]
        return ids, rel.index(0)

    def sample_by_number(self, key_frame: int, frame_numbers: Sequence[int],
                         labelled: Optional[Sequence[bool]]
                         ) -> Tuple[List[int], int]:
        rel = sorted(self.offsets + [0])
        key_number = int(frame_numbers[key_frame])
        ids = [self._find(key_number + o, key_number, frame_numbers)
               if o else key_frame for o in rel]
        return ids, rel.index(0)

    def _find(self, target: int, key_number: int,
              numbers: Sequence[int]) -> int:
        """Index of frame number ``target`` in the sorted ``numbers``."""
        if target <= numbers[0]:
            return 0
        if target >= numbers[-1]:
            return len(numbers) - 1
        j = bisect_left(numbers, target)
        if numbers[j] == target:
            return j
        if self.missing_frames == 'error':
            raise MissingFrameError(target, key_number)
        # numbers[j - 1] < target < numbers[j]; ties go to the earlier frame
        return j if numbers[j] - target < target - numbers[j - 1] else j - 1
