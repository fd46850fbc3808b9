"""A clip of consecutive frames together with the same clip shifted in time."""
from typing import List, Optional, Sequence, Tuple

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy


@TASK_UTILS.register_module()
class ShiftedClipPolicy(BaseClipPolicy):
    """MS-TFAL clip: ``clip_len`` consecutive frames plus the shifted clip.

    The clip of a key frame ``f`` ends at it: ``[f - L + 1, ..., f]``. Near
    the start of a video, **when** ``f < L`` (MS-TFAL's ``t > frame``, so
    ``f = L - 1`` included although the backward clip would fit), it is taken
    forward and reversed, ``[f + L - 1, ..., f]``. The shifted clip is the
    clip of the shifted key frame ``f' = f + shift`` built by the same rule
    (not every frame shifted one by one); a shifted key outside the video is
    reflected, ``f' = f - shift`` (frame 0's "previous" frame is frame 1).
    E.g. ``L = 4, shift = -1``: ``f = 0`` gives ``[3, 2, 1, 0]`` and
    ``[4, 3, 2, 1]``; ``f = 4`` gives ``[1, 2, 3, 4]`` and ``[6, 5, 4, 3]``,
    as MS-TFAL's ``Endovis2018_MS_TFAL.py`` (commit 538475e).

    Beyond MS-TFAL (which only uses videos of 149 frames): when a forward
    clip would run past the last frame, the backward clip is used if it
    fits, else the indices are clamped to the last frame.

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

    def _clip(self, key: int, num_frames: int) -> List[int]:
        """The clip ending at ``key`` (see the class doc)."""
        length = self._clip_len
        backward = list(range(key - length + 1, key + 1))
        if key >= length:
            return backward
        forward = list(range(key + length - 1, key - 1, -1))
        if forward[0] < num_frames:
            return forward
        if backward[0] >= 0:
            return backward
        return [min(i, num_frames - 1) for i in forward]

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        length = self._clip_len
        if length > num_frames:
            raise ValueError(f'a clip of {length} frames does not fit in a '
                             f'video of {num_frames} frames')
        shifted = key_frame + self.shift
        if not 0 <= shifted < num_frames:
            shifted = key_frame - self.shift
        shifted = min(max(shifted, 0), num_frames - 1)
        return (self._clip(key_frame, num_frames) +
                self._clip(shifted, num_frames)), length - 1
