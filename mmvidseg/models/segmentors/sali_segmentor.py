"""SALI: short-term alignment and long-term interaction for video polyp
segmentation, with its streaming memory protocol."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample
from torch import Tensor

from mmvidseg.registry import MODELS

from ..utils import MemoryBank
from .streaming_mixin import StreamingMixin

NEIGHBOURS = ('next', 'previous')


@MODELS.register_module()
class SALISegmentor(StreamingMixin, BaseSegmentor):
    """SALI (MICCAI 2024), the original code's data flow (``lib/model.py``).

    Training takes clips ``[memory, current, neighbour]`` (N, 3, C, H, W)
    (:class:`SALIClipPolicy`, key index 1) with the labels of every frame in
    ``gt_clip_seg``: the memory frame's values are weighted by its ground
    truth (bilinearly downsampled to 1/8, 1/16, 1/32), the current frame is
    supervised on the four deep-supervision outputs. The backbone runs on
    all frames at once (its LayerNorms are per sample); the neck runs once
    per frame slot, in the original's order (current, neighbour, memory),
    so its batch-norm statistics are those of the original's three calls.

    Test streams one video per call sequence (batch 1), clips ``[current,
    neighbour]`` (key index 0) with the neighbour ``t+1`` (the original,
    offline; the last frame uses ``t-1``) or ``t-1`` for live video
    (``neighbour='previous'``, set on the clip policy). The memory protocol
    is the original's (``test_video.py``): the first frame reads itself,
    then is stored; frames with ``frame_id % mem_freq == 0`` read, then are
    stored; the others only read. Stored values are weighted by the
    decoder's own ``[S_3, S_4, S_5]`` logits. The shared
    :class:`MemoryBank` counts usage per token and scale and keeps at most
    ``test_mem_length`` frames' worth of tokens per scale
    (``prune='usage_tokens'``, SALI's rule). Backbone features of a frame
    computed as a neighbour are reused when it becomes the current frame,
    so a video costs one backbone pass per frame (the original: two).

    The output ``seg_logits`` is the ``S_3`` logit map (1, H, W) resized to
    the original image size (bilinear, as the original), ``pred_sem_seg``
    is ``sigmoid > 0.5``.

    Args:
        backbone (dict): PVTv2-B5 (``mmdet.PyramidVisionTransformerV2``).
        neck (dict): :class:`RFBNeck` (three scales to 32 channels).
        decode_head (dict): :class:`SALIHead`.
        mem_freq (int): Store every ``mem_freq``-th frame.
        test_mem_length (int): Memory budget in frames (per scale).
        neighbour (str): ``'next'`` (``t+1``, the original) or
            ``'previous'`` (``t-1``, causal) when frames come from a frame
            reader (:meth:`stream_frame_ids`); dataset pipelines set it on
            their :class:`SALIClipPolicy`.
        gt_scale (float): Labels are divided by it to give the soft target
            in [0, 1] (255 for SUN-SEG's 0/255 masks, 1 for 0/1 labels).
        storage_device (str, optional): Keep the memory there (e.g. 'cpu').
        cache_features (bool): Reuse the neighbour's features at the next
            frame (test only).
        data_preprocessor (dict, optional): ``VideoSegDataPreProcessor``.
        train_cfg, test_cfg (dict, optional): Unused; kept for mmseg.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 decode_head: dict,
                 mem_freq: int = 5,
                 test_mem_length: int = 35,
                 neighbour: str = 'next',
                 gt_scale: float = 255.,
                 storage_device: Optional[str] = None,
                 cache_features: bool = True,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if mem_freq < 1 or test_mem_length < 1:
            raise ValueError('mem_freq and test_mem_length must be >= 1')
        if neighbour not in NEIGHBOURS:
            raise ValueError(f'neighbour must be one of {NEIGHBOURS}, got '
                             f'{neighbour!r}')
        self.neighbour = neighbour
        self.lookahead = 1 if neighbour == 'next' else 0
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.decode_head = MODELS.build(decode_head)
        self.mem_freq = int(mem_freq)
        self.test_mem_length = int(test_mem_length)
        self.gt_scale = float(gt_scale)
        self.cache_features = cache_features
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        #: background and polyp (one logit channel)
        self.num_classes, self.out_channels = 2, 1
        self.bank = MemoryBank(
            'neg_l2',
            topk=self.decode_head.topk,
            max_frames=self.test_mem_length,
            prune='usage_tokens',
            storage_device=storage_device)
        self._feat_cache: Dict[int, List[Tensor]] = {}
        self._frames_done = 0

    # ------------------------------------------------------------ features
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        """Neck features (B, 32, H/8..H/32) of frames (B, C, H, W)."""
        return list(self.neck(self.backbone(inputs)))

    def _clip_feats(self, inputs: Tensor, order: Tuple[int, ...]) -> list:
        """Features of every slot of a clip (N, T, C, H, W): one backbone
        call on all frames, the neck per slot in ``order``."""
        n, t = inputs.shape[:2]
        stages = self.backbone(inputs.flatten(0, 1))
        stages = [s.view(n, t, *s.shape[1:]) for s in stages]
        feats: list = [None] * t
        for slot in order:
            feats[slot] = list(self.neck([s[:, slot] for s in stages]))
        return feats

    # ------------------------------------------------------------ training
    def _labels(self, data_samples: List[SegDataSample],
                num_frames: int) -> Tuple[Tensor, Tensor]:
        mem, cur = [], []
        for s in data_samples:
            key = s.metainfo.get('key_index', 1)
            if num_frames != 3 or key != 1:
                raise ValueError(
                    'SALI trains on clips [memory, current, neighbour] '
                    f'(SALIClipPolicy mode="train"); got {num_frames} frames '
                    f'with key_index {key}')
            if 'gt_clip_seg' not in s:
                raise KeyError('SALI needs the memory frame label: pack '
                               'clips with PackVideoSegInputs('
                               'pack_clip_labels=True) (gt_clip_seg)')
            clip = s.gt_clip_seg.data
            mem.append(clip[0])
            cur.append(s.gt_sem_seg.data[0])
        to = dict(dtype=torch.float32)
        return (torch.stack(mem)[:, None].to(**to) / self.gt_scale,
                torch.stack(cur)[:, None].to(**to) / self.gt_scale)

    def loss(self, inputs: Tensor,
             data_samples: List[SegDataSample]) -> dict:
        """Structure losses of the four outputs on the current frame.

        Args:
            inputs (Tensor): (N, 3, C, H, W) clips [memory, current,
                neighbour].
            data_samples (list[SegDataSample]): With ``gt_sem_seg`` and
                ``gt_clip_seg``.
        """
        gt_mem, gt_cur = self._labels(data_samples, inputs.size(1))
        preds = self.train_predictions(inputs, gt_mem.to(inputs.dtype))
        return self.decode_head.loss_by_feat(preds, gt_cur.to(inputs.dtype))

    def train_predictions(self, inputs: Tensor,
                          gt_mem: Tensor) -> Tuple[Tensor, ...]:
        """The four outputs of a training clip (the original's
        ``train_longshort``, before upsampling).

        Args:
            inputs (Tensor): (N, 3, C, H, W) [memory, current, neighbour].
            gt_mem (Tensor): (N, 1, H, W) memory-frame mask in [0, 1].
        """
        f_mem, f_cur, f_nb = self._clip_feats(inputs, order=(1, 2, 0))
        head = self.decode_head
        k_q, v_q = head.encode(f_cur)
        k_m, v_m = head.encode(f_mem)
        v_m = head.weight_values(v_m,
                                 head.memory_masks(gt_mem, len(f_mem)))
        return head.decode(head.read(k_q, v_q, k_m, v_m), f_cur, f_nb)

    # ----------------------------------------------------------- inference
    def _reset_stream_state(self) -> None:
        self.bank.reset()
        self._feat_cache = {}
        self._frames_done = 0

    def stream_frame_ids(self, frame_id: int,
                         is_last: bool) -> Tuple[List[int], int]:
        """``[t, neighbour]``, key index 0 (see ``neighbour``)."""
        t = int(frame_id)
        if self.neighbour == 'previous' or is_last:
            return [t, max(t - 1, 0)], 0
        return [t, t + 1], 0

    def _frame_feats(self, frame: Tensor,
                     frame_id: Optional[int]) -> List[Tensor]:
        if self.cache_features and frame_id in self._feat_cache:
            return self._feat_cache[frame_id]
        return self.extract_feat(frame)

    def _keep(self, feats: Dict[Optional[int], List[Tensor]]) -> None:
        if self.cache_features:
            self._feat_cache = {k: v for k, v in feats.items()
                                if k is not None}

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """Segment the current frame of a clip [current, neighbour].

        Args:
            inputs (Tensor): (1, 2, C, H, W) (a (1, C, H, W) frame is its
                own neighbour).
            data_samples (list[SegDataSample], optional): One sample with
                ``video_id``, ``frame_id``, ``frame_ids``, ``key_index``.
        """
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        if inputs.size(0) != 1:
            raise ValueError(
                'SALI streams one frame per call (its memory holds one '
                f'video): got a batch of {inputs.size(0)}; use batch_size=1 '
                'with VideoSequentialSampler')
        meta = data_samples[0].metainfo if data_samples else {}
        key = int(meta.get('key_index', 0))
        nb = 1 - key if inputs.size(1) == 2 else key
        ids = list(meta.get('frame_ids') or [None] * inputs.size(1))
        new = self.begin_frame(meta.get('video_id'), meta.get('frame_id'))
        t = meta.get('frame_id')
        t = self._frames_done if t is None else int(t)
        f_cur = self._frame_feats(inputs[:, key], ids[key])
        f_nb = f_cur if nb == key else self._frame_feats(inputs[:, nb],
                                                         ids[nb])
        self._keep({ids[key]: f_cur, ids[nb]: f_nb})
        preds = self._read_decode(f_cur, f_nb, store=new
                                  or t % self.mem_freq == 0)
        self._frames_done += 1
        logits = self.decode_head.upsample(preds)[-1]
        return self.postprocess_result(logits, data_samples
                                       or [SegDataSample()])

    def _read_decode(self, f_cur: List[Tensor], f_nb: List[Tensor],
                     store: bool) -> Tuple[Tensor, ...]:
        """The memory protocol of one test frame (see the class doc)."""
        head = self.decode_head
        k_q, v_q = head.encode(f_cur)
        if self.bank.num_frames == 0:  # first frame: reads itself
            readouts = head.read(k_q, v_q, k_q, v_q)
        else:
            readouts = [
                head.readout(self.bank.read(k, s).to(v), v)
                for s, (k, v) in enumerate(zip(k_q, v_q))
            ]
        preds = head.decode(readouts, f_cur, f_nb)
        if store:
            self.bank.write([k.flatten(2) for k in k_q],
                            head.weight_values(v_q,
                                               head.memory_logits(preds)))
        return preds

    def postprocess_result(self, seg_logits: Tensor,
                           data_samples: List[SegDataSample]
                           ) -> List[SegDataSample]:
        """Crop the padding, resize the logits (N, 1, H, W) to each
        sample's ``ori_shape`` (bilinear) and threshold at 0.5."""
        for i, sample in enumerate(data_samples):
            logit = seg_logits[i:i + 1]
            meta = sample.metainfo
            if 'img_shape' in meta:
                h, w = meta['img_shape'][:2]
                logit = logit[..., :h, :w]
            if 'ori_shape' in meta:
                logit = F.interpolate(logit, meta['ori_shape'][:2],
                                      mode='bilinear', align_corners=False)
            sample.set_data(dict(
                seg_logits=PixelData(data=logit[0]),
                pred_sem_seg=PixelData(
                    data=(logit[0] > 0).to(torch.uint8))))
        return data_samples

    def _forward(self, inputs: Tensor,
                 data_samples: Optional[List[SegDataSample]] = None
                 ) -> Tensor:
        """One test frame without state (the first frame's path: it reads
        itself): (N, 2, C, H, W) -> S_3 logits (N, 1, H, W)."""
        if inputs.dim() == 4:
            inputs = inputs[:, None]
        f_cur = self.extract_feat(inputs[:, 0])
        f_nb = self.extract_feat(inputs[:, -1])
        head = self.decode_head
        k_q, v_q = head.encode(f_cur)
        preds = head.decode(head.read(k_q, v_q, k_q, v_q), f_cur, f_nb)
        return head.upsample(preds)[-1]

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        return self._forward(inputs)
