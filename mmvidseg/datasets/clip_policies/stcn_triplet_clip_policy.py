"""Triplets of nearby slices for STCN training (``kaylode/ivos``)."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from mmvidseg.registry import TASK_UTILS

from .base_clip_policy import BaseClipPolicy, MissingFrameError


@TASK_UTILS.register_module()
class STCNTripletClipPolicy(BaseClipPolicy):
    """Three slices ``[s, f1, f2]`` (or reversed) within ``max_jump``.

    The sampling of ``FLARE22V2STCNTrainDataset.sampling_near_frames``:
    with ``lo``/``hi`` the smallest/largest slice number of the volume and
    ``s`` the key slice,

    - ``J = max(lo, min(hi, max_jump))`` (the original bounds ``J`` below by
      ``lo``, kept as is);
    - ``f1 = max(lo, min(s + U{1..J+1}, hi - J, hi - 1))``;
    - ``f2 = max(lo, min(f1 + U{1..J+1}, hi - J // 2, hi - 1))``;
    - the order is reversed with probability 0.5 (the key slice is then
      last).

    Slices may repeat and need not be distinct from the key (short
    volumes). Draws use numpy's global generator in the original's order
    (``randint``, ``randint``, ``rand``), which mmengine seeds per
    dataloader worker. ``max_jump`` is what the curriculum changes
    (:class:`StageScheduleHook` ``clip_policy=dict(max_jump=...)``: 25 ->
    3, 4, 5, 7, 3 in the original).

    With the dataset's frame numbers (``frame_numbers``) the slice numbers
    are used (``lo``/``hi`` from them); a number absent from the volume
    raises :class:`MissingFrameError` (the original: ``KeyError``).
    Without them, slices are positions ``0..N-1``.

    Args:
        max_jump (int): Largest jump between consecutive slices of a
            triplet (before the clipping).
    """

    def __init__(self, max_jump: int = 25) -> None:
        if int(max_jump) < 0:
            raise ValueError(f'max_jump must be >= 0, got {max_jump}')
        self.max_jump = int(max_jump)

    @property
    def clip_len(self) -> int:
        return 3

    def update(self, **params) -> None:
        super().update(**params)
        self.max_jump = int(self.max_jump)

    def triplet(self, key: int, lo: int, hi: int) -> Tuple[List[int], int]:
        """Slice numbers of a triplet and the key's position (0 or 2)."""
        jump = max(lo, min(hi, self.max_jump))
        f1 = key + np.random.randint(jump + 1) + 1
        f1 = max(lo, min(f1, hi - jump, hi - 1))
        f2 = f1 + np.random.randint(jump + 1) + 1
        f2 = max(lo, min(f2, hi - jump // 2, hi - 1))
        sids = [int(key), int(f1), int(f2)]
        if np.random.rand() < 0.5:
            return sids[::-1], 2
        return sids, 0

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        return self.triplet(key_frame, 0, num_frames - 1)

    def sample_by_number(self, key_frame: int, frame_numbers: Sequence[int],
                         labelled: Optional[Sequence[bool]]
                         ) -> Tuple[List[int], int]:
        numbers = [int(n) for n in frame_numbers]
        index: Dict[int, int] = {n: i for i, n in enumerate(numbers)}
        key = numbers[key_frame]
        sids, pos = self.triplet(key, min(numbers), max(numbers))
        for n in sids:
            if n not in index:
                raise MissingFrameError(n, key)
        return [index[n] for n in sids], pos
