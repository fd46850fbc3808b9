"""Base class of decode heads that read a clip of frames."""
from typing import Optional

from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor


class BaseTemporalHead(BaseDecodeHead):
    """A decode head that segments the key frame of a clip.

    The contract with :class:`VideoEncoderDecoder` (and its streaming mode):

    * ``forward`` receives one tensor per feature level, each of shape
      (N, T, C, h, w): the memory frames oldest first, then the **key frame
      last**; the segmentor reorders the clip so for any ``key_index``;
    * it returns the key frame's logits (N, num_classes, h, w); ``loss`` and
      ``predict`` are :class:`BaseDecodeHead`'s, so the key frame's label
      (``gt_sem_seg``) supervises the output;
    * :attr:`num_memory_frames` is the number of memory frames the head reads
      (T - 1), or None when it works with any T. Streaming inference caches
      that many past frames unless ``stream_cfg`` says otherwise;
    * a sample holds one clip: multi-clip samples (``clip_bounds`` with
      several entries) are rejected by the segmentor.

    Subclasses set ``self.num_memory_frames`` in ``__init__`` when it is
    fixed and may call :meth:`check_clip` on the selected features.
    """

    #: Memory frames read by the head (T - 1), or None for any T.
    num_memory_frames: Optional[int] = None
    #: Kept for code that tests the attribute; prefer ``isinstance``.
    is_temporal = True

    def check_clip(self, x: Tensor) -> Tensor:
        """Check selected clip features against the contract.

        Args:
            x (Tensor): (N, T, C, h, w), key frame last.

        Returns:
            Tensor: ``x`` unchanged.

        Raises:
            ValueError: ``x`` is not 5-D, or T differs from
                ``num_memory_frames + 1``.
        """
        name = type(self).__name__
        if x.dim() != 5:
            raise ValueError(f'{name} expects clip features (N, T, C, h, w) '
                             f'with the key frame last, got {tuple(x.shape)}')
        if (self.num_memory_frames is not None
                and x.size(1) != self.num_memory_frames + 1):
            raise ValueError(
                f'{name} with {self.num_memory_frames} memory frames '
                f'expects (N, {self.num_memory_frames + 1}, C, h, w) '
                f'features, got {tuple(x.shape)}')
        return x
