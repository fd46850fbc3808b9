"""The streaming contract of stateful video models."""
from typing import Any, Hashable, List, Optional, Tuple

from torch import Tensor

#: Data-sample field holding a mask given for a frame (by the user of an
#: inferencer, or by a dataset protocol), as an id map PixelData (1, H, W).
GIVEN_MASK_FIELD = 'given_sem_seg'


class StreamingMixin:
    """Mixin of models that keep state across the frames of a video.

    A streaming model sees one frame per ``predict`` call, in frame order, and
    keeps a bounded state (a feature cache, a memory bank). Loops, the
    :class:`~mmvidseg.apis.VideoInferencer` and the benchmark rely on this
    contract only (``isinstance(model, StreamingMixin)``):

    * :meth:`reset_state` forgets the current video;
    * :meth:`begin_frame` applies the one reset rule at the start of every
      frame: the state is reset when ``video_id`` changes (or is None), or
      when the frame index does not advance, so a second pass over the same
      video starts clean;
    * models that start from given masks (label propagation, STCN) read them
      with :meth:`given_mask` from the ``given_sem_seg`` field of the frame's
      data sample (an id map at the original size, 0 = background). A mask
      given at a later frame is added to the model's permanent memory.

    Subclasses implement :meth:`_reset_stream_state`; models that can also
    run on whole clips set ``runs_clips`` and override :attr:`is_streaming`,
    :meth:`enable_streaming` and :meth:`disable_streaming`.
    """

    #: The model needs a given mask at the first frame of a video.
    requires_given_mask: bool = False
    #: Frames after the current one that a step reads (SALI's offline
    #: neighbour ``t+1``: 1); frame readers buffer that many frames ahead.
    lookahead: int = 0
    _stream_video: Optional[Hashable] = None
    _stream_frame: Optional[int] = None

    @property
    def is_streaming(self) -> bool:
        """Whether ``predict`` takes one frame per call (and keeps state)."""
        return True

    def enable_streaming(self) -> None:
        """Switch to streaming inference (no-op for streaming-only models)."""

    #: The model can also segment whole clips (:meth:`disable_streaming`).
    runs_clips: bool = False

    def disable_streaming(self) -> None:
        """Switch to clip inference (models with ``runs_clips`` only)."""
        raise NotImplementedError(
            f'{type(self).__name__} only runs in streaming mode')

    def _reset_stream_state(self) -> None:
        """Drop the model-specific state (caches, memory)."""
        raise NotImplementedError

    def reset_state(self) -> None:
        """Forget the current video (call between videos)."""
        self._stream_video = None
        self._stream_frame = None
        self._reset_stream_state()

    def begin_frame(self, video_id: Optional[Hashable],
                    frame_id: Optional[int] = None) -> bool:
        """Note that frame ``frame_id`` of ``video_id`` is about to run.

        Args:
            video_id (Hashable, optional): Video of the frame; None means an
                unnamed single frame (the state is reset every time).
            frame_id (int, optional): Index of the frame in its video; when
                given, a frame index that does not advance starts a new pass.

        Returns:
            bool: True if the state was reset (the frame starts a video).
        """
        new = (video_id is None or video_id != self._stream_video
               or (frame_id is not None and self._stream_frame is not None
                   and int(frame_id) <= self._stream_frame))
        if new:
            self.reset_state()
        self._stream_video = video_id
        self._stream_frame = None if frame_id is None else int(frame_id)
        return new

    def stream_frame_ids(self, frame_id: int,
                         is_last: bool) -> Tuple[List[int], int]:
        """Frames of the clip one streaming step reads.

        Args:
            frame_id (int): The current frame.
            is_last (bool): Whether it is the last frame of the video (known
                when :attr:`lookahead` > 0).

        Returns:
            tuple[list[int], int]: Frame indices of the clip and the
            position of the current frame in it (default: ``[t]``, 0; a
            model with a feature cache reads its past frames from it).
        """
        return [int(frame_id)], 0

    def start_step(self, inputs: Tensor, data_samples: List[Any]
                   ) -> Tuple[Tensor, Any, bool, Optional[Tensor]]:
        """The common start of a one-frame streaming ``predict``.

        Checks the batch of one frame, applies :meth:`begin_frame` and reads
        the frame's given mask; at the first frame of a video, a model with
        :attr:`requires_given_mask` falls back to the annotation
        (``gt_sem_seg``) and raises when there is neither.

        Args:
            inputs (Tensor): (1, T, C, H, W) or (1, C, H, W); the last frame
                is the current one.
            data_samples (list): Its one data sample (``video_id``,
                ``frame_id``).

        Returns:
            tuple: ``(frame (1, C, H, W), sample, new_video, mask)`` with
            ``mask`` the (H, W) id map given for this frame (or the first
            frame's annotation), else None.
        """
        if inputs.size(0) != 1:
            raise ValueError(f'{type(self).__name__} streams one frame per '
                             f'step (batch 1), got a batch of '
                             f'{inputs.size(0)}')
        frame = inputs[:, -1] if inputs.dim() == 5 else inputs
        sample = data_samples[0]
        video = sample.metainfo.get('video_id')
        new_video = self.begin_frame(video, sample.metainfo.get('frame_id'))
        mask = self.given_mask(sample)
        if new_video and mask is None and self.requires_given_mask:
            if 'gt_sem_seg' not in sample:
                self.reset_state()
                raise KeyError(f'the first frame of video {video!r} needs its '
                               'annotation (gt_sem_seg) or a given mask')
            mask = sample.gt_sem_seg.data[0]
        return frame, sample, new_video, mask

    @staticmethod
    def given_mask(sample: Any) -> Optional[Tensor]:
        """The (H, W) id map given for this frame, or None."""
        if sample is None or GIVEN_MASK_FIELD not in sample:
            return None
        data = getattr(sample, GIVEN_MASK_FIELD).data
        return data[0] if data.dim() == 3 else data
