"""A clip of consecutive frames together with the same clip shifted in time."""
from typing import List, Optional, Sequence, Tuple

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy


@TASK_UTILS.register_module()
class ShiftedClipPolicy(BaseClipPolicy):
    """MS-TFAL clip: ``clip_len`` consecutive frames plus the shifted clip.

    The clip ends at the key frame: ``[f - L + 1, ..., f]``. Near the start of
    a video (``f - L + 1 < 0``) it is taken forward and reversed,
    ``[f + L - 1, ..., f]``, as in MS-TFAL. The shifted clip moves every frame
    by ``shift``; a shifted index outside the video is reflected back
    (frame 0's "previous" frame is frame 1).

    The returned list holds the clip followed by the shifted clip
    (``2 * clip_len`` frames, :attr:`clip_bounds` ``[(0, L), (L, 2 L)]``);
    the key frame is at position ``clip_len - 1``. As in MS-TFAL, only the
    first clip is supervised by default (the shifted clip provides the
    previous frames' features and labels for the affinity).

    Args:
        clip_len (int): Frames per clip.
        shift (int): Temporal shift of the second clip.
        supervise_shifted (bool): Also mark the shifted clip's frames as
            supervised. Default False.
    """

    def __init__(self,
                 clip_len: int = 4,
                 shift: int = -1,
                 supervise_shifted: bool = False) -> None:
        if clip_len < 1 or shift == 0:
            raise ValueError('clip_len must be >= 1 and shift non-zero')
        self._clip_len = int(clip_len)
        self.shift = int(shift)
        self.supervise_shifted = bool(supervise_shifted)

    @property
    def clip_len(self) -> int:
        return 2 * self._clip_len

    @property
    def clip_bounds(self) -> List[Tuple[int, int]]:
        length = self._clip_len
        return [(0, length), (length, 2 * length)]

    @property
    def supervised_clips(self) -> List[bool]:
        return [True, self.supervise_shifted]

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        length = self._clip_len
        if length > num_frames:
            raise ValueError(f'a clip of {length} frames does not fit in a '
                             f'video of {num_frames} frames')
        if key_frame - length + 1 >= 0:
            clip = list(range(key_frame - length + 1, key_frame + 1))
        else:
            clip = list(range(key_frame + length - 1, key_frame - 1, -1))

        def reflect(i: int) -> int:
            j = i + self.shift
            if j < 0 or j >= num_frames:
                j = i - self.shift
            return min(max(j, 0), num_frames - 1)

        return clip + [reflect(i) for i in clip], length - 1
