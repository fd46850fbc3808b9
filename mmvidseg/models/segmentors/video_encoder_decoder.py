"""Encoder-decoder segmentor for clips of frames."""
from collections import deque
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmseg.models.segmentors import EncoderDecoder
from mmseg.models.utils import resize
from mmseg.utils import OptSampleList, SampleList, add_prefix
from torch import Tensor

from mmvidseg.registry import MODELS

from ..decode_heads import BaseTemporalHead
from .frame_supervision import frame_head_loss, frame_targets
from .streaming_mixin import StreamingMixin

Feats = Tuple[Tensor, ...]


@MODELS.register_module()
class VideoEncoderDecoder(StreamingMixin, EncoderDecoder):
    """EncoderDecoder over clips (N, T, C, H, W).

    The backbone (and neck) runs on the N*T frames (``backbone_calls``)
    and every feature level is regrouped to (N, T, C, h, w). A *temporal*
    decode head (a :class:`BaseTemporalHead`) receives 5-D features with the
    key frame moved to the **last** temporal position (memory frames first,
    oldest first); any other head, and every auxiliary head, receives the key
    frame's (N, C, h, w) features, so stock mmseg heads work unchanged.
    A temporal head reads one clip per sample: a sample whose metainfo
    ``clip_bounds`` holds several clips (``ShiftedClipPolicy``) is rejected.

    Supervision (``train_cfg=dict(supervise=...)``):

    * ``'key_frame'`` (default): the decode head's output is supervised by
      the key frame's ``gt_sem_seg``, as in mmseg;
    * ``'all_frames'``: a per-frame (non-temporal) decode head, and every
      auxiliary head, run on every frame marked ``supervised`` in the
      metainfo (of every clip of the sample) and each frame is supervised by
      its label in ``gt_clip_seg`` (T, H, W). Each ``loss_decode`` module is
      called with an element-wise ``weight`` (M, H, W): the sample's
      ``loss_weight`` metainfo (default 1) times its ``gt_clip_weight``
      (T, H, W) when present (times the head's pixel sampler weight). With
      mmseg's ``CrossEntropyLoss`` (``reduction='mean'``) this gives
      ``sum(w * CE) / D`` over the M supervised frames, where ``D`` is the
      number of their pixels (``avg_non_ignore=False``, ignored pixels
      count in ``D``) or of their non-ignored pixels
      (``avg_non_ignore=True``); weights do not enter ``D``, so a sample with
      ``loss_weight=0`` adds nothing to the sum but still to ``D``. With all
      weights 1 no ``weight`` is passed (any mmseg loss works); otherwise the
      loss must accept an element-wise ``weight`` (CrossEntropyLoss,
      FocalLoss). :meth:`forward_all_frames` gives every frame's logits.

    ``backbone_calls`` (in training mode): ``'pooled'`` (default) makes one
    call on the N*T frames (shared batch-norm statistics, running statistics
    updated once per step); ``'per_slot'`` (TMANet's original) makes one
    call per clip position on its N frames, the key frame first, then the
    other positions oldest first (own batch statistics per call, running
    statistics updated T times per step, in that order; the features are
    stacked, one extra copy). In eval mode batch norm uses its running
    statistics, both give the same features, and one pooled call (faster)
    is made. The per-frame paths (``supervise='all_frames'``, which rejects
    ``'per_slot'``, and :meth:`forward_all_frames`) make one call.

    Inference supports mmseg's ``whole`` and ``slide`` modes; in ``slide``
    mode every frame of the clip is cropped with the same window.

    Streaming mode (``stream_cfg=dict(num_ref_frames=T)``): ``predict`` takes
    the key frame of each sample only, caches the backbone features of the
    last ``T`` frames per slide window (a bounded deque) and builds the
    temporal head's input from the cache, so a video costs one backbone pass
    per frame. The cache starts as the first frame repeated and is reset by
    the streaming contract (:class:`StreamingMixin`: ``video_id`` changes, the
    frame index does not advance, or :meth:`reset_state` is called).

    Args:
        stream_cfg (dict, optional): ``dict(num_ref_frames=int)`` to enable
            streaming inference.
        backbone_calls (str): ``'pooled'`` or ``'per_slot'`` (see above).
        **kwargs: See :class:`mmseg.models.EncoderDecoder`; ``train_cfg``
            may hold ``supervise`` (``'key_frame'`` or ``'all_frames'``).
    """
    SUPERVISE_MODES = ('key_frame', 'all_frames')
    BACKBONE_CALLS = ('pooled', 'per_slot')

    def __init__(self, *args, stream_cfg: Optional[dict] = None,
                 backbone_calls: str = 'pooled', **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if backbone_calls not in self.BACKBONE_CALLS:
            raise ValueError(f'model.backbone_calls must be one of '
                             f'{self.BACKBONE_CALLS}, got {backbone_calls!r}')
        self.backbone_calls = backbone_calls
        # mmseg reads test_cfg.mode / .stride as attributes
        if isinstance(self.test_cfg, dict):
            self.test_cfg = ConfigDict(self.test_cfg)
        if stream_cfg is not None:
            unknown = set(stream_cfg) - {'num_ref_frames'}
            if unknown:
                raise KeyError(f'unknown stream_cfg keys {sorted(unknown)}')
            if int(stream_cfg.get('num_ref_frames', 0)) < 0:
                raise ValueError('stream_cfg.num_ref_frames must be >= 0')
        self.stream_cfg = stream_cfg
        self._stream_cache: Dict[tuple, deque] = {}
        self.supervise = (self.train_cfg or {}).get('supervise', 'key_frame')
        if self.supervise not in self.SUPERVISE_MODES:
            raise ValueError(
                f'train_cfg.supervise must be one of {self.SUPERVISE_MODES}, '
                f'got {self.supervise!r}')
        if self.supervise == 'all_frames' and self.head_is_temporal:
            raise ValueError(
                "train_cfg.supervise='all_frames' needs a per-frame decode "
                f'head; {type(self.decode_head).__name__} is temporal')
        if self.supervise == 'all_frames' and backbone_calls == 'per_slot':
            raise ValueError(
                "train_cfg.supervise='all_frames' runs the backbone once on "
                "the supervised frames; set model.backbone_calls='pooled'")

    # ------------------------------------------------------------------ utils
    @property
    def head_is_temporal(self) -> bool:
        """Whether the decode head is a :class:`BaseTemporalHead`."""
        return isinstance(self.decode_head, BaseTemporalHead)

    def _check_clips(self, metas: Sequence[dict], num_frames: int) -> None:
        """Reject multi-clip samples for a temporal head."""
        if not self.head_is_temporal:
            return
        for meta in metas:
            bounds = [tuple(b) for b in meta.get('clip_bounds',
                                                 [(0, num_frames)])]
            if bounds != [(0, num_frames)]:
                raise ValueError(
                    f'{type(self.decode_head).__name__} reads one clip of '
                    f'{num_frames} frames per sample, but sample '
                    f'{meta.get("video_id")!r}/{meta.get("frame_id")!r} has '
                    f'clip_bounds {bounds}, not [(0, {num_frames})] '
                    '(several clips come from e.g. ShiftedClipPolicy); use a '
                    "per-frame head with train_cfg=dict(supervise="
                    "'all_frames') or a model that handles several clips")

    @staticmethod
    def _key_index(data_samples: OptSampleList, num_frames: int) -> int:
        if not data_samples:
            return num_frames - 1
        keys = {s.metainfo.get('key_index', num_frames - 1)
                for s in data_samples}
        if len(keys) != 1:
            raise ValueError(f'samples of one batch have different key '
                             f'frame positions {sorted(keys)}')
        key = keys.pop()
        return key % num_frames

    def extract_feat(self, inputs: Tensor,
                     key_index: int = -1) -> List[Tensor]:
        """Backbone (+ neck) on all frames, as ``backbone_calls`` says.

        Args:
            inputs (Tensor): (N, T, C, H, W); (N, C, H, W) counts as T = 1.
            key_index (int): Position of the key frame, called first in
                ``'per_slot'`` mode (training only).

        Returns:
            list[Tensor]: One (N, T, C_l, h_l, w_l) tensor per level.
        """
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        n, t = inputs.shape[:2]
        if self.backbone_calls == 'pooled' or not self.training or t == 1:
            feats = EncoderDecoder.extract_feat(self, inputs.flatten(0, 1))
            return [f.view(n, t, *f.shape[1:]) for f in feats]
        key = key_index % t
        slots = {s: EncoderDecoder.extract_feat(self, inputs[:, s])
                 for s in [key] + [i for i in range(t) if i != key]}
        return [torch.stack([slots[s][level] for s in range(t)], 1)
                for level in range(len(slots[key]))]

    @staticmethod
    def _key_last(feats: Sequence[Tensor], key: int) -> List[Tensor]:
        t = feats[0].size(1)
        if key == t - 1:
            return list(feats)
        order = [i for i in range(t) if i != key] + [key]
        return [f[:, order] for f in feats]

    def _head_inputs(self, feats: Sequence[Tensor], key: int) -> list:
        if self.head_is_temporal:
            return self._key_last(feats, key)
        return [f[:, key] for f in feats]

    # ---------------------------------------------------------------- training
    def loss(self, inputs: Tensor, data_samples: SampleList) -> dict:
        if self.supervise == 'all_frames':
            return self._all_frames_loss(inputs, data_samples)
        num_frames = inputs.size(1) if inputs.dim() == 5 else 1
        self._check_clips([s.metainfo for s in data_samples], num_frames)
        key = self._key_index(data_samples, num_frames)
        feats = self.extract_feat(inputs, key)
        losses = self._decode_head_forward_train(
            self._head_inputs(feats, key), data_samples)
        if self.with_auxiliary_head:
            losses.update(
                self._auxiliary_head_forward_train([f[:, key] for f in feats],
                                                   data_samples))
        return losses

    def _all_frames_loss(self, inputs: Tensor,
                         data_samples: SampleList) -> dict:
        """Per-frame losses of the supervised frames (see the class doc)."""
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        n, t = inputs.shape[:2]
        rows, labels, weight = frame_targets(data_samples, n, t)
        flat = inputs.flatten(0, 1)[rows]
        feats = EncoderDecoder.extract_feat(self, flat)
        losses = add_prefix(
            frame_head_loss(self.decode_head, feats, labels, weight),
            'decode')
        if self.with_auxiliary_head:
            if isinstance(self.auxiliary_head, nn.ModuleList):
                for idx, head in enumerate(self.auxiliary_head):
                    losses.update(add_prefix(
                        frame_head_loss(head, feats, labels, weight),
                        f'aux_{idx}'))
            else:
                losses.update(add_prefix(
                    frame_head_loss(self.auxiliary_head, feats, labels,
                                    weight), 'aux'))
        return losses

    def forward_all_frames(self, inputs: Tensor,
                           resize_to_input: bool = True) -> Tensor:
        """Logits of every frame from the per-frame decode head.

        Args:
            inputs (Tensor): (N, T, C, H, W) clips (all clips of a sample).
            resize_to_input (bool): Resize the logits bilinearly to (H, W).

        Returns:
            Tensor: (N, T, K, H, W) logits ((N, T, K, h, w) without resizing).

        Raises:
            ValueError: The decode head is temporal.
        """
        if self.head_is_temporal:
            raise ValueError(
                'forward_all_frames needs a per-frame decode head; '
                f'{type(self.decode_head).__name__} is temporal')
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        n, t = inputs.shape[:2]
        feats = EncoderDecoder.extract_feat(self, inputs.flatten(0, 1))
        logits = self.decode_head.forward(feats)
        if resize_to_input:
            logits = resize(logits, size=inputs.shape[-2:], mode='bilinear',
                            align_corners=self.decode_head.align_corners)
        return logits.view(n, t, *logits.shape[1:])

    def _forward(self,
                 inputs: Tensor,
                 data_samples: OptSampleList = None) -> Tensor:
        num_frames = inputs.size(1) if inputs.dim() == 5 else 1
        if data_samples:
            self._check_clips([s.metainfo for s in data_samples], num_frames)
        key = self._key_index(data_samples, num_frames)
        feats = self.extract_feat(inputs, key)
        return self.decode_head.forward(self._head_inputs(feats, key))

    # --------------------------------------------------------------- inference
    def predict(self,
                inputs: Tensor,
                data_samples: OptSampleList = None) -> SampleList:
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        if data_samples is not None:
            metas = [s.metainfo for s in data_samples]
        else:
            hw = inputs.shape[-2:]
            metas = [
                dict(ori_shape=hw, img_shape=hw, pad_shape=hw,
                     padding_size=[0, 0, 0, 0])
            ] * inputs.size(0)
        if self.stream_cfg is not None:
            key = self._key_index(data_samples, inputs.size(1))
            if inputs.size(0) != 1:
                raise ValueError('streaming inference takes one frame per '
                                 f'step, got a batch of {inputs.size(0)}')
            self.begin_frame(metas[0].get('video_id'),
                             metas[0].get('frame_id'))
            inputs = inputs[:, key:key + 1]
            metas = [dict(m, key_index=0) for m in metas]
        seg_logits = self.inference(inputs, metas)
        return self.postprocess_result(seg_logits, data_samples)

    def enable_streaming(self, num_ref_frames: Optional[int] = None) -> None:
        """Switch inference to streaming mode (see the class docstring).

        Args:
            num_ref_frames (int, optional): Frames to cache. Defaults to the
                decode head's ``num_memory_frames`` (TMANet-style heads), or
                0 for a non-temporal head.

        Raises:
            ValueError: A temporal head that does not tell how many memory
                frames it reads, and no ``num_ref_frames`` given.
        """
        if num_ref_frames is None and self.head_is_temporal:
            num_ref_frames = self.decode_head.num_memory_frames
        if num_ref_frames is None:
            if self.head_is_temporal:
                raise ValueError(
                    f'{type(self.decode_head).__name__} does not define '
                    'num_memory_frames; set model.stream_cfg='
                    'dict(num_ref_frames=T) in the config')
            num_ref_frames = 0
        self.stream_cfg = dict(num_ref_frames=int(num_ref_frames))
        self.reset_state()

    runs_clips = True

    @property
    def is_streaming(self) -> bool:
        """Whether ``predict`` runs in streaming mode."""
        return self.stream_cfg is not None

    def disable_streaming(self) -> None:
        """Back to clip-mode inference."""
        self.stream_cfg = None
        self.reset_state()

    def _reset_stream_state(self) -> None:
        """Forget the streaming feature cache."""
        self._stream_cache = {}

    def _streamed_feats(self, feats: List[Tensor], window: tuple) -> list:
        num_ref = int(self.stream_cfg.get('num_ref_frames', 0))
        cache = self._stream_cache.get(window)
        current = tuple(f[:, -1].detach() for f in feats)
        if cache is None:
            cache = deque([current] * num_ref, maxlen=max(num_ref, 1))
            self._stream_cache[window] = cache
        memory = list(cache)[-num_ref:] if num_ref else []
        clip = [
            torch.stack([m[level] for m in memory] + [current[level]], 1)
            for level in range(len(feats))
        ]
        if num_ref:
            cache.append(current)
        return clip

    def encode_decode(self,
                      inputs: Tensor,
                      batch_img_metas: List[dict],
                      window: tuple = ()) -> Tensor:
        """Segment the key frame of clips (N, T, C, H, W)."""
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        key = batch_img_metas[0].get('key_index', inputs.size(1) - 1)
        key %= inputs.size(1)
        feats = self.extract_feat(inputs, key)
        if self.stream_cfg is not None and not self.training:
            feats = self._streamed_feats(feats, window)
            key = feats[0].size(1) - 1
        else:
            self._check_clips(batch_img_metas, inputs.size(1))
        return self.decode_head.predict(
            self._head_inputs(feats, key), batch_img_metas, self.test_cfg)

    def whole_inference(self, inputs: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        return self.encode_decode(inputs, batch_img_metas)

    def slide_inference(self, inputs: Tensor,
                        batch_img_metas: List[dict]) -> Tensor:
        """Sliding-window inference; all frames share each window.

        Args:
            inputs (Tensor): (N, T, C, H, W).

        Returns:
            Tensor: (N, num_classes, H, W) logits of the key frames.
        """
        h_stride, w_stride = self.test_cfg.stride
        h_crop, w_crop = self.test_cfg.crop_size
        n, h_img, w_img = inputs.size(0), inputs.size(-2), inputs.size(-1)
        h_grids = max(h_img - h_crop + h_stride - 1, 0) // h_stride + 1
        w_grids = max(w_img - w_crop + w_stride - 1, 0) // w_stride + 1
        preds = inputs.new_zeros((n, self.out_channels, h_img, w_img))
        count = inputs.new_zeros((n, 1, h_img, w_img))
        for h_idx in range(h_grids):
            for w_idx in range(w_grids):
                y1, x1 = h_idx * h_stride, w_idx * w_stride
                y2, x2 = min(y1 + h_crop, h_img), min(x1 + w_crop, w_img)
                y1, x1 = max(y2 - h_crop, 0), max(x2 - w_crop, 0)
                crop = inputs[..., y1:y2, x1:x2]
                batch_img_metas[0]['img_shape'] = crop.shape[-2:]
                logits = self.encode_decode(crop, batch_img_metas,
                                            window=(h_idx, w_idx))
                preds += F.pad(logits,
                               (x1, w_img - x2, y1, h_img - y2))
                count[:, :, y1:y2, x1:x2] += 1
        assert (count == 0).sum() == 0
        return preds / count
