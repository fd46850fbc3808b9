"""Semi-supervised VOS by label propagation (CRW / videowalk protocol)."""
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import Tensor

from mmvidseg.registry import MODELS

from ..converters import load_extractor_weights
from ..utils import LabelPropagationState, labels_to_mask, upsample_labels
from .streaming_mixin import StreamingMixin


@MODELS.register_module()
class LabelPropagator(StreamingMixin, BaseModel):
    """Propagate first-frame masks through a video with a frozen extractor.

    Inference only. Frames arrive one per step in order (streaming test
    loop with :class:`VideoSequentialSampler`); at the first frame of a video
    the annotation (``gt_sem_seg``, object ids, 255 void) is read, turned
    into one channel per object id present (background included) and
    downscaled bilinearly to the feature grid, as in videowalk. Every later
    frame is predicted from the first frame plus the ``queue_len`` previous
    predictions (:class:`LabelPropagationState`: cosine affinity /
    ``temperature``, radius mask on the short-term frames, top-k softmax),
    upsampled bilinearly to the network input size, then the arg-max id is
    resized (nearest) to the original frame size. Frame 0's output is its
    annotation. Objects absent from frame 0 are never predicted (as in
    CRW). Memory is bounded by ``queue_len + 1`` frames.

    Streaming contract (:class:`StreamingMixin`): a new ``video_id`` or a
    frame index that does not advance starts a video. A mask given for a
    frame (``given_sem_seg``, e.g. from :class:`VideoInferencer`'s
    ``first_mask``) is used instead of the annotation at the first frame;
    given at a later frame it is that frame's output and joins the
    permanent memory (new object ids are added), as in interactive VOS
    tools; each given frame adds one frame to the memory.

    Args:
        backbone (dict): Feature extractor config (an mmseg backbone, e.g.
            ``ResNet`` with layer3 stride 1 and no layer4, or
            ``VisionTransformer`` returning patch tokens).
        data_preprocessor (dict, optional): Usually
            ``VideoSegDataPreProcessor`` with ImageNet mean/std.
        out_index (int): Which backbone output to use.
        queue_len (int): Short-term memory ``L``.
        temperature (float): Affinity temperature.
        topk (int): Top-k context positions per query.
        radius (float): Spatial radius (feature-grid units) on short-term
            frames.
        norm_mask (bool): Per-pixel min-max normalisation of predictions.
        l2_norm (bool): L2-normalise features over channels.
        chunk_size (int): Query positions per affinity chunk.
        checkpoint (str, optional): Published extractor weights.
        checkpoint_format (str): See
            :func:`mmvidseg.models.converters.load_extractor_weights`.
        init_cfg (dict, optional): mmengine init config.
    """
    requires_given_mask = True

    def __init__(self,
                 backbone: dict,
                 data_preprocessor: Optional[dict] = None,
                 out_index: int = -1,
                 queue_len: int = 20,
                 temperature: float = 0.05,
                 topk: int = 10,
                 radius: float = 12,
                 norm_mask: bool = False,
                 l2_norm: bool = True,
                 chunk_size: int = 256,
                 checkpoint: Optional[str] = None,
                 checkpoint_format: str = 'mmseg',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.out_index = out_index
        self.l2_norm = l2_norm
        self.prop_cfg = dict(
            queue_len=queue_len, temperature=temperature, topk=topk,
            radius=radius, norm_mask=norm_mask, chunk_size=chunk_size)
        self.checkpoint = checkpoint
        self.checkpoint_format = checkpoint_format
        # loaded here, not in init_weights: the runner only initialises
        # weights when training, and this model is inference-only
        if checkpoint is not None:
            load_extractor_weights(self.backbone, checkpoint,
                                   checkpoint_format)
        self._state: Optional[LabelPropagationState] = None
        self._ids: Optional[Tensor] = None

    def _reset_stream_state(self) -> None:
        """Forget the current video."""
        self._state, self._ids = None, None

    def extract_feat(self, frames: Tensor) -> Tensor:
        """Features (N, C, h, w) of frames (N, 3, H, W), L2-normalised."""
        feat = self.backbone(frames)
        if isinstance(feat, (list, tuple)):
            feat = feat[self.out_index]
        if feat.dim() != 4:
            raise ValueError('the feature extractor must return (N, C, h, w) '
                             f'maps, got {tuple(feat.shape)}')
        return F.normalize(feat, dim=1) if self.l2_norm else feat

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[List[SegDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            frames = inputs[:, -1] if inputs.dim() == 5 else inputs
            return self.extract_feat(frames)
        raise RuntimeError(f'LabelPropagator is inference-only; mode '
                           f'{mode!r} is not supported')

    def _onehot(self, mask: Tensor, hw: tuple) -> Tensor:
        """(K, h, w) labels of ``self._ids`` in an (H, W) id map."""
        onehot = (mask[None] == self._ids[:, None, None]).float()
        return upsample_labels(onehot, hw)

    def _first_frame(self, feat: Tensor, mask: Tensor) -> Tensor:
        ids = torch.unique(mask)
        self._ids = ids[ids != 255]
        # features are L2-normalised here already (or on purpose not)
        self._state = LabelPropagationState(
            **self.prop_cfg, normalize=False)
        self._state.reset(feat, self._onehot(mask, feat.shape[-2:]))
        return mask

    def _given_frame(self, feat: Tensor, mask: Tensor) -> Tensor:
        ids = torch.unique(mask)
        new = ids[(ids != 255) & ~torch.isin(ids, self._ids)]
        self._ids = torch.cat([self._ids, new])
        self._state.add_mask(feat, self._onehot(mask, feat.shape[-2:]))
        return mask

    @torch.no_grad()
    def predict(self, inputs: Tensor,
                data_samples: List[SegDataSample]) -> List[SegDataSample]:
        """Predict one frame of one video.

        Args:
            inputs (Tensor): (1, T, 3, H, W) or (1, 3, H, W); the last frame
                is the one to segment.
            data_samples (list[SegDataSample]): Its sample with
                ``video_id``, ``frame_id``, ``ori_shape`` and, at the first
                frame, ``gt_sem_seg`` or ``given_sem_seg``; a later frame
                may carry ``given_sem_seg``.
        """
        frame, sample, new_video, given = self.start_step(
            inputs, data_samples)
        feat = self.extract_feat(frame)[0]
        if given is not None:
            given = given.to(feat.device).long()
        if new_video:
            pred = self._first_frame(feat, given)
        elif given is not None:
            pred = self._given_frame(feat, given)
        else:
            soft = self._state.step(feat)  # (K, h, w)
            pred = self._ids[labels_to_mask(soft, frame.shape[-2:])]
        ori = tuple(sample.metainfo.get('ori_shape', pred.shape))[:2]
        if tuple(pred.shape) != ori:
            pred = F.interpolate(pred[None, None].float(), size=ori,
                                 mode='nearest')[0, 0].long()
        sample.set_data(dict(pred_sem_seg=PixelData(data=pred[None])))
        return [sample]
