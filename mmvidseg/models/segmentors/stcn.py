"""STCN: space-time correspondence networks for mask propagation, with the
training and volume propagation of ``kaylode/ivos`` (FLARE22)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmseg.structures import SegDataSample
from torch import Tensor

from mmvidseg.registry import MODELS

from ..layers.stcn_modules import (STCNDecoder, STCNValueEncoder,
                                   resnet_channels)
from ..utils import memory_read, soft_aggregate_logits
from .stcn_inference import STCNInferenceMixin
from .streaming_mixin import StreamingMixin

KEY_ENCODER = dict(
    type='ResNet', depth=50, num_stages=3, strides=(1, 2, 2),
    dilations=(1, 1, 1), out_indices=(0, 1, 2), style='pytorch')
VALUE_ENCODER = dict(
    type='ResNet', depth=18, in_channels=5, num_stages=3, strides=(1, 2, 2),
    dilations=(1, 1, 1), out_indices=(0, 1, 2), style='pytorch')
TEST_CFG = dict(topk=20, mem_every=5, include_last=True, max_frames=None,
                prune='fifo', storage_device=None)


@MODELS.register_module()
class STCN(STCNInferenceMixin, StreamingMixin, BaseModel):
    """STCN (Cheng et al., NeurIPS 2021) as trained by ``kaylode/ivos``.

    Network (``networks/network.py``): a key encoder (ResNet-50 to 1/16:
    ``f16`` 1024, ``f8`` 512, ``f4`` 256 channels) with a 3x3 key
    projection to 64 channels (orthogonal init, zero bias) and a 3x3
    compression to the value width (``f16_thin``); a value encoder
    (ResNet-18 on ``[image; mask; other objects]``, fused with ``f16``); a
    memory read with the negative squared L2 affinity ``(2 k_m.q - |k_m|^2)
    / sqrt(64)``, softmax over the memory (top-k at inference); a decoder
    (1/8 and 1/4 skips) per object, ``sigmoid``, soft aggregation over
    ``[background, objects]`` (:func:`soft_aggregate`).

    Training (:meth:`loss`) takes triplets (N, 3, C, H, W) with the labels
    of the three slices in ``gt_clip_seg`` (class ids, e.g.
    :class:`STCNTripletClipPolicy`). Objects are chosen on the model side,
    as the original dataset (``flare22v2_stcn.py``) does: the target is a
    random non-zero class of the **first** slice, a second object another
    random class of it (selector ``[1, 1]``) or none (``[1, 0]``); an empty
    first slice gives all-zero masks. Draws come from a
    ``torch.Generator`` of the model seeded with ``train_cfg.seed`` (or, if
    None, from torch's global seed at the first draw, which the runner
    sets), so the data pipeline stays generic. The forward is the
    original's: values of slice 0 from the ground truth, slice 1 segmented
    from them, values of slice 1 from its predicted soft masks, slice 2
    segmented from the memory ``{0, 1}``; no top-k in training. The loss
    (``STCNLossV2``) is, for slices 1 and 2 and each sample, ``loss_ohem``
    and ``loss_lovasz`` on the aggregated logits over ``[bg, obj1, obj2]``
    (``[bg, obj1]`` when the sample has one object), summed over the two
    slices and averaged over the batch.

    Inference: :meth:`predict` streams a video (VOS, one frame per call,
    the first frame's object ids from ``given_sem_seg`` or ``gt_sem_seg``)
    and :meth:`propagate_range` runs one range of the original's
    ``inference_core_efficient`` on a volume; both share the per-frame
    steps of :class:`STCNInferenceMixin`.

    Args:
        key_encoder (dict): mmseg ``ResNet`` config (three stages).
        value_encoder (dict): mmseg ``ResNet`` config, ``in_channels=5``.
        key_dim (int): Key channels.
        value_dim (int): Value channels (also ``f16_thin``'s).
        decoder_channels (Sequence[int]): See :class:`STCNDecoder`.
        fuser_attention (bool): The official STCN's CBAM in the value
            fusion (``kaylode/ivos`` has none).
        loss_ohem (dict): OHEM cross-entropy config.
        loss_lovasz (dict): Lovasz-softmax config.
        ignore_index (int): Label value that is not supervised (padding).
        train_cfg (dict, optional): ``seed`` of the object selection.
        test_cfg (dict, optional): ``topk`` (20), ``mem_every`` (5),
            ``include_last`` (True), ``max_frames`` (working-memory budget,
            None: unbounded), ``prune`` ('fifo' or 'usage'),
            ``storage_device`` (e.g. 'cpu').
        data_preprocessor (dict, optional): ``VideoSegDataPreProcessor``
            (CT: mean 0, std 255; video: ImageNet).
        init_cfg (dict, optional): Initialisation config.
    """
    requires_given_mask = True

    def __init__(self,
                 key_encoder: dict = KEY_ENCODER,
                 value_encoder: dict = VALUE_ENCODER,
                 key_dim: int = 64,
                 value_dim: int = 512,
                 decoder_channels: Sequence[int] = (512, 256, 256),
                 fuser_attention: bool = False,
                 loss_ohem: dict = dict(
                     type='OhemCrossEntropyLoss', thresh=0.5,
                     n_min_divisor=16, loss_name='loss_ohem'),
                 loss_lovasz: dict = dict(
                     type='LovaszLoss', loss_type='multi_class',
                     classes='present', per_image=False, reduction='none',
                     loss_name='loss_lovasz'),
                 ignore_index: int = 255,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.key_encoder = MODELS.build(key_encoder)
        f4, f8, f16 = resnet_channels(self.key_encoder, 'key_encoder')[:3]
        self.key_proj = nn.Conv2d(f16, key_dim, 3, padding=1)
        nn.init.orthogonal_(self.key_proj.weight)
        nn.init.zeros_(self.key_proj.bias)
        self.key_comp = nn.Conv2d(f16, value_dim, 3, padding=1)
        self.value_encoder = STCNValueEncoder(value_encoder, f16, value_dim,
                                              fuser_attention)
        self.decoder = STCNDecoder(2 * value_dim, (f8, f4), decoder_channels)
        self.value_dim = value_dim
        self.loss_ohem = MODELS.build(loss_ohem)
        self.loss_lovasz = MODELS.build(loss_lovasz)
        self.ignore_index = ignore_index
        self.train_cfg = dict(train_cfg or {})
        unknown = set(test_cfg or {}) - set(TEST_CFG)
        if unknown:
            raise KeyError(f'STCN test_cfg: unknown key(s) {sorted(unknown)}'
                           f'; known: {sorted(TEST_CFG)}')
        self.test_cfg = dict(TEST_CFG, **(test_cfg or {}))
        self._rng: Optional[torch.Generator] = None
        self._reset_stream_state()

    # ------------------------------------------------------------ features
    def encode_key(self, frames: Tensor) -> Tuple[Tensor, ...]:
        """Key features of frames (B, 3, H, W), H and W multiples of 16.

        Returns:
            tuple[Tensor]: ``k16`` (B, key_dim, h, w), ``f16_thin``
            (B, value_dim, h, w), ``f16``, ``f8``, ``f4`` (encoder maps).
        """
        f4, f8, f16 = self.key_encoder(frames)[:3]
        return self.key_proj(f16), self.key_comp(f16), f16, f8, f4

    def decode(self, readout: Tensor, f16_thin: Tensor, f8: Tensor,
               f4: Tensor) -> Tensor:
        """Per-object logits (B, O, H, W) of readouts (B, O, C, h, w) with
        the query's ``f16_thin`` (B, C, h, w), ``f8`` and ``f4``."""
        b, o = readout.shape[:2]
        thin = f16_thin[:, None].expand(b, o, *f16_thin.shape[1:])
        x = torch.cat([readout, thin], 2).flatten(0, 1)
        logits = self.decoder(x, f8, f4)
        return logits.view(b, o, *logits.shape[-2:])

    def encode_value(self, frame: Tensor, f16: Tensor, masks: Tensor,
                     others: Optional[Tensor] = None) -> Tensor:
        """Values (B, C, h, w) of one frame per mask.

        Args:
            frame (Tensor): (B, 3, H, W), or (1, 3, H, W) shared by all
                masks.
            f16 (Tensor): Key encoder 1/16 features, batched as ``frame``.
            masks (Tensor): (B, 1, H, W) object masks.
            others (Tensor, optional): (B, 1, H, W) masks of the other
                objects; default: for B masks of one frame, each mask's
                others are the sum of the rest (zeros for a single mask).
        """
        b = masks.size(0)
        if others is None:
            others = masks.sum(0, keepdim=True) - masks if b > 1 else \
                torch.zeros_like(masks)
        if frame.size(0) != b:
            frame = frame.expand(b, *frame.shape[1:])
            f16 = f16.expand(b, *f16.shape[1:])
        return self.value_encoder(frame, f16, masks, others)

    # ------------------------------------------------------------ training
    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[SegDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            frames = inputs.flatten(0, 1) if inputs.dim() == 5 else inputs
            return self.encode_key(frames)[0]
        raise RuntimeError(f'STCN: invalid mode {mode!r}; use loss, predict '
                           'or tensor')

    def _clip_labels(self, data_samples: List[SegDataSample],
                     num_frames: int) -> Tensor:
        labels = []
        for s in data_samples:
            if 'gt_clip_seg' not in s:
                raise KeyError('STCN trains on the labels of every slice of '
                               'a triplet: pack clips with PackVideoSegInputs'
                               '(pack_clip_labels=True) (gt_clip_seg)')
            seg = s.gt_clip_seg.data
            if seg.size(0) != num_frames:
                raise ValueError(f'gt_clip_seg has {seg.size(0)} frames, the '
                                 f'clip {num_frames}')
            labels.append(seg.long())
        return torch.stack(labels)

    def _generator(self) -> torch.Generator:
        if self._rng is None:
            seed = self.train_cfg.get('seed')
            self._rng = torch.Generator()
            self._rng.manual_seed(
                torch.initial_seed() if seed is None else int(seed))
        return self._rng

    def select_objects(self, labels: Tensor) -> Tuple[Tensor, Tensor]:
        """Choose the target and second object of each triplet.

        Args:
            labels (Tensor): (N, T, H, W) class ids.

        Returns:
            tuple[Tensor, Tensor]: Object ids (N, 2) (-1: none; the
            second is -1 when the first slice has fewer than two classes)
            and the selector (N, 2) float ([1, 1] or [1, 0]).
        """
        gen = self._generator()
        ids = torch.full((labels.size(0), 2), -1, dtype=torch.long)
        for j, first in enumerate(labels[:, 0]):
            present = torch.unique(first).cpu()
            present = present[(present != 0) & (present != self.ignore_index)]
            for k in range(2):
                if len(present) == 0:
                    break
                pick = int(torch.randint(len(present), (1, ), generator=gen))
                ids[j, k] = present[pick]
                present = present[present != ids[j, k]]
        selector = torch.ones(labels.size(0), 2)
        selector[:, 1] = (ids[:, 1] >= 0).float()
        return ids, selector

    def loss(self, inputs: Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, Tensor]:
        """OHEM-CE and Lovasz losses of a batch of triplets.

        Args:
            inputs (Tensor): (N, 3, C, H, W), H and W multiples of 16.
            data_samples (list[SegDataSample]): With ``gt_clip_seg``
                (3, H, W).
        """
        if inputs.dim() != 5 or inputs.size(1) != 3:
            raise ValueError('STCN trains on triplets (N, 3, C, H, W), got '
                             f'{tuple(inputs.shape)}')
        labels = self._clip_labels(data_samples, 3).to(inputs.device)
        ids, selector = self.select_objects(labels)
        ids, selector = ids.to(inputs.device), selector.to(inputs.device)
        masks = (labels[:, :, None] == ids[:, None, :, None, None]).to(
            inputs.dtype)  # (N, 3, 2, H, W)
        logits = self.train_logits(inputs, masks[:, :, :1], masks[:, :, 1:],
                                   selector)
        cls_gt = masks[:, :, 0] + 2 * masks[:, :, 1]
        cls_gt = cls_gt.long().masked_fill(labels == self.ignore_index,
                                           self.ignore_index)
        return self.loss_by_logits(logits, cls_gt, selector)

    def _segment_train(self, q: Tuple[Tensor, ...], mem_keys: Tensor,
                       mem_values: Tensor,
                       selector: Tensor) -> Tuple[Tensor, Tensor]:
        """Aggregated logits (N, 3, H, W) and object probabilities (N, 2,
        H, W) of a query ``(k16, f16_thin, f8, f4)`` from memory keys
        (N, T, Ck, h, w) and values (N, T, 2, C, h, w); full softmax."""
        k16, thin, f8, f4 = q
        n, t, o = mem_values.shape[:3]
        h, w = k16.shape[-2:]
        keys = mem_keys.permute(0, 1, 3, 4, 2).reshape(n, -1, k16.size(1))
        values = mem_values.permute(0, 1, 4, 5, 2, 3).reshape(
            n, t * h * w, -1)
        readout = memory_read(k16.flatten(2).transpose(1, 2), keys, values,
                              affinity='neg_l2')  # (N, hw, 2 C)
        readout = readout.transpose(1, 2).reshape(n, o, -1, h, w)
        prob = torch.sigmoid(self.decode(readout, thin, f8, f4))
        logits = soft_aggregate_logits(prob * selector[:, :, None, None], 1)
        return logits, logits.softmax(1)[:, 1:]

    def train_logits(self, frames: Tensor, masks: Tensor, sec_masks: Tensor,
                     selector: Tensor) -> List[Tensor]:
        """The original training forward (``STCNModel.forward_train``).

        Args:
            frames (Tensor): (N, 3, C, H, W).
            masks (Tensor): (N, 3, 1, H, W) target masks (slice 0 used).
            sec_masks (Tensor): (N, 3, 1, H, W) second-object masks.
            selector (Tensor): (N, 2).

        Returns:
            list[Tensor]: Aggregated logits (N, 3, H, W) of slices 1 and 2.
        """
        n, t = frames.shape[:2]
        feats = [x.view(n, t, *x.shape[1:])
                 for x in self.encode_key(frames.flatten(0, 1))]
        k16, thin, f16, f8, f4 = feats
        # one value-encoder call per object, as the original (batch norm)
        ref = torch.stack([
            self.encode_value(frames[:, 0], f16[:, 0], masks[:, 0],
                              sec_masks[:, 0]),
            self.encode_value(frames[:, 0], f16[:, 0], sec_masks[:, 0],
                              masks[:, 0])], 1)
        logits1, prob1 = self._segment_train(
            (k16[:, 1], thin[:, 1], f8[:, 1], f4[:, 1]), k16[:, :1],
            ref[:, None], selector)
        prev = torch.stack([
            self.encode_value(frames[:, 1], f16[:, 1], prob1[:, :1],
                              prob1[:, 1:]),
            self.encode_value(frames[:, 1], f16[:, 1], prob1[:, 1:],
                              prob1[:, :1])], 1)
        logits2, _ = self._segment_train(
            (k16[:, 2], thin[:, 2], f8[:, 2], f4[:, 2]), k16[:, :2],
            torch.stack([ref, prev], 1), selector)
        return [logits1, logits2]

    def loss_by_logits(self, logits: List[Tensor], cls_gt: Tensor,
                       selector: Tensor) -> Dict[str, Tensor]:
        """``STCNLossV2``: per slice ``i`` (1, 2) and sample, each loss on
        the logits ``[bg, obj1(, obj2)]`` vs ``cls_gt[:, i]``, divided by the
        batch size and summed.

        Args:
            logits (list[Tensor]): (N, 3, H, W) per supervised slice.
            cls_gt (Tensor): (N, T, H, W) ids in {0, 1, 2, ignore}.
            selector (Tensor): (N, 2).
        """
        n = cls_gt.size(0)
        losses: Dict[str, Tensor] = {}
        for i, lg in enumerate(logits, start=1):
            for j in range(n):
                c = 3 if selector[j, 1] > 0.5 else 2
                for fn in (self.loss_ohem, self.loss_lovasz):
                    value = fn(lg[j:j + 1, :c], cls_gt[j:j + 1, i],
                               ignore_index=self.ignore_index) / n
                    losses[fn.loss_name] = losses.get(fn.loss_name,
                                                      0.) + value
        return losses
