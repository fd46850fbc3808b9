"""Base class of the clip-sampling policies used by :class:`SampleClip`."""
from typing import List, Optional, Sequence, Tuple


class MissingFrameError(FileNotFoundError):
    """A frame a clip needs is absent from the video's frame numbers.

    Raised by policies that pick frames by frame number
    (:meth:`BaseClipPolicy.sample_by_number`); :class:`SampleClip` turns it
    into an error naming the missing file.

    Args:
        frame_number (int): The missing frame number.
        key_number (int): Frame number of the clip's key frame.
        message (str, optional): The error message; a default names both
            numbers.
    """

    def __init__(self,
                 frame_number: int,
                 key_number: int,
                 message: Optional[str] = None) -> None:
        self.frame_number = int(frame_number)
        self.key_number = int(key_number)
        super().__init__(
            message or f'frame number {self.frame_number} (needed by the '
            f'clip of key frame {self.key_number}) is not in the video')


class BaseClipPolicy:
    """Chooses which frames of a video form the clip of one key frame.

    A policy maps ``(key_frame, num_frames)`` to a list of frame indices into
    the video's frame table and the position of the key frame in that list.
    The list may hold several clips one after the other; their boundaries
    are :attr:`clip_bounds`. When the dataset gives the frame numbers of the
    video (``frame_numbers``, e.g. the numbers in the file names of an
    extracted video), policies that choose frames by temporal distance
    override :meth:`sample_by_number`; the default ignores the numbers and
    uses positions in the frame table.
    Policies are stateless apart from their parameters, which a curriculum hook
    may change with :meth:`update`.
    """

    def __call__(self,
                 key_frame: int,
                 num_frames: int,
                 labelled: Optional[Sequence[bool]] = None,
                 frame_numbers: Optional[Sequence[int]] = None
                 ) -> Tuple[List[int], int]:
        """Sample a clip.

        Args:
            key_frame (int): Index of the key frame in the video.
            num_frames (int): Number of frames of the video.
            labelled (Sequence[bool], optional): Which frames have a label.
            frame_numbers (Sequence[int], optional): Frame number of each
                frame of the table (strictly increasing, gaps allowed).

        Returns:
            tuple[list[int], int]: Frame indices of the clip and the position
            of the key frame among them.

        Raises:
            MissingFrameError: A policy picking frames by number needs a
                frame that is not in ``frame_numbers``.
        """
        if num_frames <= 0:
            raise ValueError('cannot sample a clip from an empty video')
        if not 0 <= key_frame < num_frames:
            raise IndexError(
                f'key frame {key_frame} is outside the video '
                f'(0..{num_frames - 1})')
        if frame_numbers is not None:
            if len(frame_numbers) != num_frames:
                raise ValueError(f'{len(frame_numbers)} frame numbers for '
                                 f'{num_frames} frames')
            return self.sample_by_number(key_frame, frame_numbers, labelled)
        return self.sample(key_frame, num_frames, labelled)

    def sample(self, key_frame: int, num_frames: int,
               labelled: Optional[Sequence[bool]]) -> Tuple[List[int], int]:
        raise NotImplementedError

    def sample_by_number(self, key_frame: int, frame_numbers: Sequence[int],
                         labelled: Optional[Sequence[bool]]
                         ) -> Tuple[List[int], int]:
        """Sample a clip knowing each frame's number (default: positions,
        as :meth:`sample`)."""
        return self.sample(key_frame, len(frame_numbers), labelled)

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
