"""Base class of the clip-sampling policies used by :class:`SampleClip`."""
from typing import List, Optional, Sequence, Tuple


class BaseClipPolicy:
    """Chooses which frames of a video form the clip of one key frame.

    A policy maps ``(key_frame, num_frames)`` to a list of frame indices into
    the video's frame table and the position of the key frame in that list.
    The list may hold several clips one after the other; their boundaries
    are :attr:`clip_bounds`.
    Policies are stateless apart from their parameters, which a curriculum hook
    may change with :meth:`update`.
    """

    def __call__(self,
                 key_frame: int,
                 num_frames: int,
                 labelled: Optional[Sequence[bool]] = None
                 ) -> Tuple[List[int], int]:
        """Sample a clip.

        Args:
            key_frame (int): Index of the key frame in the video.
            num_frames (int): Number of frames of the video.
            labelled (Sequence[bool], optional): Which frames have a label.

        Returns:
            tuple[list[int], int]: Frame indices of the clip and the position
            of the key frame among them.
        """
        if num_frames <= 0:
            raise ValueError('cannot sample a clip from an empty video')
        if not 0 <= key_frame < num_frames:
            raise IndexError(
                f'key frame {key_frame} is outside the video '
                f'(0..{num_frames - 1})')
        return self.sample(key_frame, num_frames, labelled)

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        raise NotImplementedError

    @property
    def clip_len(self) -> int:
        """Number of frames of the clips this policy returns."""
        raise NotImplementedError

    @property
    def clip_bounds(self) -> List[Tuple[int, int]]:
        """Clips of a sample as ``(start, stop)`` positions in the returned
        frame list, in order; they tile ``[0, clip_len)``.

        A sample may hold several clips (MS-TFAL: a clip and the same clip
        shifted in time); most policies return one, ``[(0, clip_len)]``.
        """
        return [(0, self.clip_len)]

    @property
    def supervised_clips(self) -> List[bool]:
        """Whether the labels of each clip of :attr:`clip_bounds` are
        supervised (default: all). Frames of an unsupervised clip keep their
        labels in ``gt_clip_seg`` but are marked ``supervised=False``."""
        return [True] * len(self.clip_bounds)

    def update(self, **params) -> None:
        """Change parameters, e.g. ``update(max_skip=10)``.

        Called by :class:`mmvidseg.engine.StageScheduleHook` for every
        :class:`SampleClip` of the train dataset (``clip_policy`` actions).
        Values are set as given. Changing a policy in the main process does
        not reach dataloader workers that already exist (they hold copies);
        the hook re-creates the train dataloader's workers afterwards.

        Raises:
            KeyError: A name that is not a public parameter of the policy.
        """
        for name, value in params.items():
            if not hasattr(self, name) or name.startswith('_'):
                raise KeyError(
                    f'{type(self).__name__} has no parameter {name!r}')
            setattr(self, name, value)

    def __repr__(self) -> str:
        params = ', '.join(f'{k}={v!r}' for k, v in vars(self).items()
                           if not k.startswith('_'))
        return f'{type(self).__name__}({params})'
