"""MS-TFAL: a per-frame segmenter trained on noisy labels with temporal
feature affinity learning and multi-scale supervision."""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmseg.models.segmentors import BaseSegmentor
from mmseg.structures import SegDataSample
from torch import Tensor, nn

from mmvidseg.registry import MODELS

from ..utils import TFALAffinity, image_weight, select_noise, tfal_affinity

STAGES = ('plain', 'video', 'image', 'pixel')


@MODELS.register_module()
class MSTFALSegmentor(BaseSegmentor):
    """MS-TFAL (MICCAI 2023), as ``train_MS_TFAL.py`` trains it.

    A per-frame segmenter (backbone + :class:`DeepLabV3PlusLiteHead`,
    whose 304-d L2-normalised embedding feeds TFAL) trained on clips of
    ``L`` consecutive frames plus the same clip shifted by one frame
    (:class:`ShiftedClipPolicy`: inputs (N, 2L, C, H, W), labels of every
    frame in ``gt_clip_seg``). Only the first clip is trained on; the
    shifted clip gives each frame's previous frame. The loss of a sample is
    the OHEM cross-entropy of its ``L`` frames, weighted by stage
    (:meth:`set_stage`, switched by :class:`MSTFALHook`):

    * ``'plain'`` (stage 1): ``L_ohem``;
    * ``'video'`` (2): ``lambda_V * L_ohem``, ``lambda_V`` the rank weight of
      the sample's video (:meth:`set_reliability`);
    * ``'image'`` (3): ``lambda_I * lambda_V * L_ohem`` with ``lambda_I =
      exp(2 (mean(a_p + 1 - a_n) - p_thr - n_thr))`` over the clip's frames,
      the affinities (TFAL) between each frame's embedding and its previous
      frame's (computed without gradient, in the training mode as the
      original, so batch norm sees the shifted clip too);
    * ``'pixel'`` (4): samples of the least reliable videos ``U`` are
      trained on corrected labels, ``0.7 * L_ohem(logits, (1 - m) y + m
      y_hat)`` with ``m`` TFAL's noise mask (lowest 30 % ``a_p`` and highest
      30 % ``a_n``) and ``y_hat`` the correction model's prediction; other
      samples as in stage 3.

    Test and inference segment each frame on its own (logits upsampled x8,
    then bilinearly, ``align_corners=True``, to the original size, arg-max).

    Args:
        backbone (dict): ResNet-18 at output stride 8.
        decode_head (dict): :class:`DeepLabV3PlusLiteHead`.
        loss (dict): The base loss (``OhemCrossEntropyLoss``).
        noise_ratio (float): Share of pixels in each noise candidate set.
        correction_weight (float): Loss weight of corrected samples (0.7).
        data_preprocessor (dict, optional): ``VideoSegDataPreProcessor``.
        train_cfg, test_cfg (dict, optional): Unused.
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 decode_head: dict,
                 loss: dict = dict(type='OhemCrossEntropyLoss'),
                 noise_ratio: float = 0.3,
                 correction_weight: float = 0.7,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.decode_head = MODELS.build(decode_head)
        self.loss_module = MODELS.build(loss)
        self.num_classes = self.decode_head.num_classes
        self.out_channels = self.decode_head.out_channels
        self.align_corners = True  # the original's test-time resize
        self.noise_ratio = noise_ratio
        self.correction_weight = correction_weight
        self.train_cfg, self.test_cfg = train_cfg, test_cfg
        self.stage = 'plain'
        self.video_weights: Dict[str, float] = {}
        self.p_thr = self.n_thr = 0.0
        self.uncertain_videos: frozenset = frozenset()
        self._correction: Optional[nn.Module] = None
        self._freeze_norms = False

    # ------------------------------------------------------------- state
    def set_stage(self, stage: str) -> None:
        """``'plain'``, ``'video'``, ``'image'`` or ``'pixel'``."""
        if stage not in STAGES:
            raise ValueError(f'MS-TFAL stage must be one of {STAGES}, got '
                             f'{stage!r}')
        self.stage = stage

    def set_reliability(self, video_weights: Dict[str, float], p_thr: float,
                        n_thr: float, uncertain: Sequence[str]) -> None:
        """Video rank weights, affinity thresholds and the set ``U``."""
        self.video_weights = {str(k): float(v)
                              for k, v in video_weights.items()}
        self.p_thr, self.n_thr = float(p_thr), float(n_thr)
        self.uncertain_videos = frozenset(str(v) for v in uncertain)

    def set_correction_model(self, model: Optional[nn.Module],
                             freeze_norms: bool = False) -> None:
        """The model predicting corrected labels in stage 4 (``self`` for
        the original's single-GPU aliasing; then ``freeze_norms`` keeps the
        whole model in eval mode while training, as the original's
        ``model_pred.eval()`` on the aliased model does)."""
        # a plain attribute: not a submodule (no state-dict entries, not
        # trained, not wrapped by DDP)
        object.__setattr__(self, '_correction',
                           None if model is self else model)
        self._freeze_norms = freeze_norms

    def train(self, mode: bool = True) -> 'MSTFALSegmentor':
        return super().train(mode and not self._freeze_norms)

    # ---------------------------------------------------------- forward
    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        return list(self.backbone(inputs))

    def frame_forward(self, frames: Tensor) -> tuple:
        """(B, C, H, W) -> logits at the input size (B, K, H, W) and the
        embedding (B, 304, H/8, W/8)."""
        logits, embedding = self.decode_head.forward_with_embedding(
            self.extract_feat(frames))
        return self.decode_head.upsample_logits(logits,
                                                frames.shape[-2:]), embedding

    def _forward(self, inputs: Tensor,
                 data_samples: Optional[list] = None) -> Tensor:
        frames = inputs[:, -1] if inputs.dim() == 5 else inputs
        return self.frame_forward(frames)[0]

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        return self._forward(inputs)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """Segment the key frame of each sample (N, T, C, H, W)."""
        if inputs.dim() == 5:
            key = (data_samples[0].metainfo.get('key_index', inputs.size(1)
                                                - 1)
                   if data_samples else inputs.size(1) - 1)
            inputs = inputs[:, key]
        if data_samples is None:
            data_samples = [
                SegDataSample(metainfo=dict(
                    ori_shape=inputs.shape[-2:], img_shape=inputs.shape[-2:]))
                for _ in range(inputs.size(0))
            ]
        logits = self.frame_forward(inputs)[0]
        return self.postprocess_result(logits, data_samples)

    # ---------------------------------------------------------- training
    def _clip_labels(self, data_samples: List[SegDataSample],
                     num_frames: int) -> Tensor:
        labels = []
        for s in data_samples:
            if 'gt_clip_seg' not in s:
                raise KeyError('MS-TFAL needs the labels of every frame: '
                               'pack with PackVideoSegInputs('
                               'pack_clip_labels=True) (gt_clip_seg)')
            bounds = s.metainfo.get('clip_bounds')
            if bounds is None or len(bounds) != 2 or \
                    bounds[1][1] - bounds[1][0] != bounds[0][1]:
                raise ValueError(
                    'MS-TFAL trains on a clip and its shifted copy '
                    '(ShiftedClipPolicy); got clip_bounds '
                    f'{bounds} for {num_frames} frames')
            labels.append(s.gt_clip_seg.data)
        return torch.stack(labels).long()  # (N, 2L, H, W)

    def loss(self, inputs: Tensor,
             data_samples: List[SegDataSample]) -> dict:
        """Weighted OHEM loss of the clips (see the class doc).

        Args:
            inputs (Tensor): (N, 2L, C, H, W) clip then shifted clip.
            data_samples (list[SegDataSample]): ``gt_clip_seg`` (2L, H, W),
                ``video_id``, ``clip_bounds``.
        """
        n, t2 = inputs.shape[:2]
        labels = self._clip_labels(data_samples, t2)
        length = t2 // 2
        size = inputs.shape[-2:]
        logits, emb = self.frame_forward(inputs[:, :length].flatten(0, 1))
        logits = logits.view(n, length, *logits.shape[1:])
        stage = STAGES.index(self.stage)
        aff = None
        if stage >= 2:
            with torch.no_grad():
                _, emb_prev = self.frame_forward(
                    inputs[:, length:].flatten(0, 1))
                h, w = emb.shape[-2:]
                small = F.interpolate(labels.flatten(0, 1)[:, None].float(),
                                      size=(h, w), mode='nearest')[:, 0]
                small = small.long().view(n, t2, h, w)
                aff = tfal_affinity(
                    emb.detach(), emb_prev,
                    small[:, :length].flatten(0, 1),
                    small[:, length:].flatten(0, 1), self.num_classes)
        total, lam_v, lam_i, corrected = 0., [], [], 0
        for i, sample in enumerate(data_samples):
            target = labels[i, :length]
            weight = 1.0
            video = str(sample.metainfo.get('video_id'))
            if stage >= 1:
                if video not in self.video_weights:
                    raise KeyError(
                        f'no MS-TFAL weight for video {video!r}; the '
                        'reliability ranking (MSTFALHook) covers '
                        f'{sorted(self.video_weights)}')
                weight = self.video_weights[video]
            frames = slice(i * length, (i + 1) * length)
            if stage >= 3 and video in self.uncertain_videos:
                target = self._corrected(inputs[i, :length], target, aff,
                                         frames, size)
                weight, corrected = self.correction_weight, corrected + 1
            elif stage >= 2:
                li = image_weight(aff.pos_mean[frames], aff.neg_mean[frames],
                                  self.p_thr, self.n_thr)
                lam_i.append(float(li))
                weight = weight * li
            lam_v.append(float(self.video_weights.get(video, 1.0)))
            total = total + weight * self.loss_module(logits[i], target)
        losses = {self.loss_module.loss_name: total / n}
        if stage >= 1:
            losses['lambda_v'] = logits.new_tensor(sum(lam_v) / len(lam_v))
        if lam_i:
            losses['lambda_i'] = logits.new_tensor(sum(lam_i) / len(lam_i))
        if stage >= 3:
            losses['corrected_clips'] = logits.new_tensor(float(corrected))
        return losses

    @torch.no_grad()
    def _corrected(self, frames: Tensor, target: Tensor, aff, index: slice,
                   size) -> Tensor:
        """``(1 - m) y + m argmax(correction model)`` of one clip."""
        model = self if self._correction is None else self._correction
        if model is not self and model.training:
            model.eval()
        pred = model.frame_forward(frames)[0].argmax(1)
        clip = TFALAffinity(*(x[index] for x in aff))
        mask = select_noise(clip, size, self.noise_ratio,
                            'intersection').long()
        return (1 - mask) * target + mask * pred
