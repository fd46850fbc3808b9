"""Streaming video inference: video/folder/arrays in, masks + overlay out."""
import os.path as osp
from typing import Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from tqdm import tqdm

from mmvidseg.registry import MODELS
from mmvidseg.utils.io import atomic_imwrite

from .frame_sources import FrameSource, Source
from .overlay_writer import OverlayWriter, as_palette, blend

#: Transforms of a dataset pipeline that the inferencer replaces.
SKIPPED_TRANSFORMS = ('SampleClip', 'LoadVideoFrames', 'LoadImageFromFile',
                      'LoadAnnotations')


class VideoInferencer:
    """Segment a video frame by frame with bounded memory.

    The model runs in streaming mode (:class:`VideoEncoderDecoder` with
    ``stream_cfg``): each frame is encoded once and the temporal state is a
    fixed number of cached frames, so memory does not grow with the length of
    the video. Frames are read lazily; masks are written as they come.

    Args:
        config (str | Config): Model config.
        checkpoint (str, optional): Weights; without them the model keeps
            its initialisation (useful for smoke tests only).
        device (str): ``'cpu'`` or ``'cuda[:i]'``.
        classes (Sequence[str], optional): Class names (default: from the
            checkpoint's ``dataset_meta`` or the config's test dataset).
        palette (Sequence, optional): RGB colour per class.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 classes: Optional[Sequence[str]] = None,
                 palette: Optional[Sequence] = None) -> None:
        import mmvidseg  # noqa: F401 (registers the modules)
        cfg = Config.fromfile(config) if isinstance(config, str) else config
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        self.cfg = cfg
        model = MODELS.build(cfg.model)
        meta = {}
        if checkpoint is not None:
            if not osp.isfile(checkpoint):
                raise FileNotFoundError(
                    f'checkpoint {checkpoint!r} not found')
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
            meta = ckpt.get('meta', {}).get('dataset_meta') or {}
        if getattr(model, 'stream_cfg', 'missing') == 'missing':
            raise TypeError(f'{type(model).__name__} has no streaming mode; '
                            'VideoInferencer needs a VideoEncoderDecoder')
        if model.stream_cfg is None:
            # clip-mode configs (e.g. TMANet) stream with as many cached
            # frames as the head has memory frames
            model.enable_streaming()
        self.model = model.to(device).eval()
        self.device = device
        dataset_cfg = cfg.get('test_dataloader', {}).get('dataset', {})
        self.classes = classes or meta.get('classes')
        pal = palette if palette is not None else meta.get('palette')
        self.palette = as_palette(pal, self.model.num_classes)
        steps = [
            t for t in dataset_cfg.get('pipeline', [])
            if t.get('type') not in SKIPPED_TRANSFORMS
        ]
        if not any(t.get('type') == 'PackVideoSegInputs' for t in steps):
            steps.append(dict(type='PackVideoSegInputs'))
        self.pipeline = Compose(steps)

    def _pack(self, frame: np.ndarray, name: str, video_id: str,
              index: int) -> dict:
        hw = frame.shape[:2]
        results = dict(
            img=[frame], img_shape=[hw], ori_shape=[hw],
            scale_factor=[(1.0, 1.0)], flip=[False], flip_direction=[None],
            img_path=[name], video_id=video_id, frame_id=index,
            frame_ids=[index], key_index=0)
        packed = self.pipeline(results)
        return dict(
            inputs=[packed['inputs']], data_samples=[packed['data_samples']])

    @torch.no_grad()
    def predict_frames(self, source: Union[Source, FrameSource],
                       video_id: str = 'video',
                       progress: bool = True
                       ) -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(frame name, BGR frame, mask)`` for every frame.

        The model state is reset at the start, so consecutive calls with
        different videos do not share memory.
        """
        frames = source if isinstance(source, FrameSource) else \
            FrameSource(source)
        self.model.reset_state()
        bar = tqdm(
            total=len(frames) or None, disable=not progress, unit='frame',
            desc=f'segmenting {video_id}')
        try:
            for index, (name, frame) in enumerate(frames):
                data = self._pack(frame, name, video_id, index)
                sample = self.model.test_step(data)[0]
                mask = sample.pred_sem_seg.data[0].cpu().numpy()
                bar.update(1)
                yield name, frame, mask
        finally:
            bar.close()
            self.model.reset_state()

    def __call__(self,
                 source: Source,
                 out_dir: Optional[str] = None,
                 overlay: Optional[str] = 'mp4',
                 save_masks: bool = True,
                 fps: Optional[float] = None,
                 progress: bool = True,
                 video_id: str = 'video',
                 side_by_side: bool = True) -> dict:
        """Segment ``source``; write masks and an overlay into ``out_dir``.

        Args:
            source (str | Sequence[np.ndarray]): Video file, frame folder or
                list of BGR frames.
            out_dir (str, optional): Output folder; without it nothing is
                written and the masks are returned.
            overlay (str, optional): ``'mp4'``, ``'gif'`` or None.
            save_masks (bool): Write ``masks/<frame>.png`` (class ids).
            fps (float, optional): Overlay frame rate (default: the video's,
                else 10).
            progress (bool): Show a progress bar.
            video_id (str): Name of the video in the model state.
            side_by_side (bool): Overlay shows the frame and the blended
                prediction next to each other.

        Returns:
            dict: ``num_frames``, ``masks_dir``, ``overlay`` (paths or None)
            and ``masks`` (list of arrays, only without ``out_dir``).
        """
        if overlay not in (None, 'mp4', 'gif'):
            raise ValueError(f"overlay must be 'mp4', 'gif' or None, got "
                             f'{overlay!r}')
        frames = FrameSource(source)  # opened once, read lazily below
        fps = fps or frames.fps or 10.0
        writer = None
        masks_dir = None
        if out_dir is not None:
            if save_masks:
                masks_dir = osp.join(out_dir, 'masks')
            if overlay:
                writer = OverlayWriter(
                    osp.join(out_dir, f'overlay.{overlay}'), fps=fps)
        kept = []
        count = 0
        try:
            for name, frame, mask in self.predict_frames(
                    frames, video_id, progress):
                count += 1
                if masks_dir is not None:
                    atomic_imwrite(
                        osp.join(masks_dir, f'{name}.png'),
                        mask.astype(np.uint8))
                if writer is not None:
                    shown = blend(frame, mask, self.palette)
                    if side_by_side:
                        shown = np.concatenate([frame, shown], axis=1)
                    writer.write(shown)
                if out_dir is None:
                    kept.append(mask)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        overlay_path = writer.close() if writer is not None else None
        return dict(
            num_frames=count,
            masks_dir=masks_dir,
            overlay=overlay_path,
            masks=kept if out_dir is None else None)
