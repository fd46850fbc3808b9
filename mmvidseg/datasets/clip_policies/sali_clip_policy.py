"""SALI's frame triplets: memory, current and neighbour frame."""
from typing import List, Optional, Sequence, Tuple

import numpy as np

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy


@TASK_UTILS.register_module()
class SALIClipPolicy(BaseClipPolicy):
    """Frames of SALI (Scatteredrain/SALI ``dataloaders/video_list.py``).

    Training (``mode='train'``) returns ``[mem, cur, nb]`` with the key
    (current) frame at position 1; testing (``mode='test'``) returns
    ``[cur, nb]`` with the key at position 0. For key frame ``i`` of a video
    of ``N`` frames, ``s = max_skip``:

    ``neighbour='next'`` (SALI, non-causal):

    * ``i = 0``: train ``[1, 0, 1]`` (the next frame is memory and
      neighbour), test ``[0, 1]``;
    * ``1 <= i <= N-2``: ``mem ~ U{max(i-s, 0), ..., i-1}``, ``nb = i+1``;
    * ``i = N-1``: ``mem ~ U{max(i-1-s, 0), ..., i-2}``, ``nb = i-1``.

    ``neighbour='previous'`` (causal, for live video): ``nb = i-1`` and the
    memory frame is drawn from before the neighbour,
    ``mem ~ U{max(i-1-s, 0), ..., i-2}`` (SALI's rule for the last frame,
    which also uses the previous frame as neighbour); frame 0 uses itself,
    ``[0, 0, 0]`` / ``[0, 0]``, and frame 1 has no frame before its
    neighbour, so ``mem = 0`` (the neighbour), ``[0, 1, 0]``.

    Short videos, which crash the original (``IndexError`` for one frame,
    ``randint(0, -1)`` at the last frame of two): a one-frame video uses the
    frame for every role (``[0, 0, 0]`` / ``[0, 0]``); in a two-frame video
    the last frame's memory range is empty and the memory is frame 0, its
    neighbour: ``[0, 1, 0]``. In general, an empty memory range falls back to
    the neighbour.

    Differences from the original: it draws the memory frames once per
    dataset build (the loader was rebuilt every 5 epochs for the
    ``max_skip`` curriculum), this policy draws them for every sample
    (numpy's global generator, seeded per dataloader worker by mmengine);
    and the curriculum changes ``max_skip`` through
    :class:`mmvidseg.engine.StageScheduleHook` (``clip_policy=dict(
    max_skip=...)``), which also reaches persistent workers.

    Supervision: SALI supervises the current frame only, but the memory
    frame's label weights the memory values, so every frame's label is
    loaded and packed (``PackVideoSegInputs(pack_clip_labels=True)`` puts
    all of them in ``gt_clip_seg`` (T, H, W)). The frames play different
    roles and are not in time order, so each is its own one-frame clip
    (:attr:`clip_bounds` ``[(0, 1), (1, 2), (2, 3)]``) and only the key's
    clip is marked supervised (``supervised`` ``[False, True, False]`` in the
    metainfo; ``[True, False]`` at test). A head that expects one
    oldest-first clip therefore rejects these samples.

    Args:
        mode (str): ``'train'`` (triplets) or ``'test'`` (pairs).
        neighbour (str): ``'next'`` (SALI) or ``'previous'`` (causal).
        max_skip (int): Largest distance of the memory frame (see above).
            Default 5.
    """

    def __init__(self,
                 mode: str = 'train',
                 neighbour: str = 'next',
                 max_skip: int = 5) -> None:
        self.mode = mode
        self.neighbour = neighbour
        self.max_skip = max_skip
        self._validate()

    def _validate(self) -> None:
        if self.mode not in ('train', 'test'):
            raise ValueError(
                f"mode must be 'train' or 'test', got {self.mode!r}")
        if self.neighbour not in ('next', 'previous'):
            raise ValueError("neighbour must be 'next' or 'previous', got "
                             f'{self.neighbour!r}')
        skip = self.max_skip
        if isinstance(skip, bool) or not isinstance(
                skip, (int, np.integer)) or skip < 1:
            raise ValueError(f'max_skip must be an int >= 1, got {skip!r}')

    def update(self, **params) -> None:
        """Change parameters (``max_skip`` for the curriculum), checked;
        on a bad value nothing changes."""
        old = dict(vars(self))
        super().update(**params)
        try:
            self._validate()
        except ValueError:
            vars(self).update(old)
            raise

    @property
    def clip_len(self) -> int:
        return 3 if self.mode == 'train' else 2

    @property
    def clip_bounds(self) -> List[Tuple[int, int]]:
        return [(t, t + 1) for t in range(self.clip_len)]

    @property
    def supervised_clips(self) -> List[bool]:
        key = self.key_index
        return [t == key for t in range(self.clip_len)]

    @property
    def key_index(self) -> int:
        """Position of the current frame in the returned frames."""
        return 1 if self.mode == 'train' else 0

    def _neighbour_of(self, i: int, num_frames: int) -> int:
        if self.neighbour == 'previous' or i == num_frames - 1:
            return max(i - 1, 0)
        return i + 1

    def _memory_of(self, i: int, nb: int) -> int:
        """Memory frame: before the key, or before the neighbour when the
        neighbour is the previous frame; the neighbour if none is."""
        if nb > i:  # next neighbour: frames i-s .. i-1
            low, high = max(i - self.max_skip, 0), i - 1
        else:  # previous neighbour: frames before it within the skip
            low, high = max(nb - self.max_skip, 0), nb - 1
        if high < low:
            return nb
        return int(np.random.randint(low, high + 1))

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        i = key_frame
        nb = 0 if num_frames == 1 else self._neighbour_of(i, num_frames)
        if self.mode == 'test':
            return [i, nb], 0
        return [self._memory_of(i, nb), i, nb], 1
