"""Streaming video inference: videos/folders/arrays in, masks + overlay out."""
import os
import os.path as osp
from typing import Dict, Iterable, Iterator, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from mmengine.structures import PixelData
from tqdm import tqdm

from mmvidseg.datasets.davis_dataset import davis_palette
from mmvidseg.datasets.transforms.frame_keys import frame_results
from mmvidseg.models.segmentors.streaming_mixin import (GIVEN_MASK_FIELD,
                                                        StreamingMixin)
from mmvidseg.registry import MODELS
from mmvidseg.utils.checkpoint_compat import check_checkpoint
from mmvidseg.utils.io import atomic_write_mask, read_mask

from .frame_sources import FrameSource, Source, list_videos
from .overlay_writer import OverlayWriter, as_palette, blend

MaskLike = Union[str, np.ndarray]

#: Transforms of a dataset pipeline that the inferencer replaces.
SKIPPED_TRANSFORMS = ('SampleClip', 'LoadVideoFrames', 'LoadImageFromFile',
                      'LoadAnnotations', 'LoadVideoAnnotations')


class VideoInferencer:
    """Segment videos frame by frame with bounded memory.

    Any model of the streaming contract (:class:`StreamingMixin`) runs here:
    semantic models (:class:`VideoEncoderDecoder`, switched to streaming
    mode: each frame is encoded once and the temporal state is a fixed
    number of cached frames) and mask-propagation models
    (:class:`LabelPropagator`), which start from a mask of the first frame
    (``first_mask``) and take masks given at later frames into their
    permanent memory. Frames are read lazily; masks are written as they
    come; several videos (a list of paths, or a folder of videos or of frame
    folders) run one after the other with the state reset between them.

    Args:
        config (str | Config): Model config.
        checkpoint (str, optional): Weights; without them the model keeps
            its initialisation (propagation models may load their extractor
            weights from the config).
        device (str): ``'cpu'`` or ``'cuda[:i]'``.
        classes (Sequence[str], optional): Class names (default: from the
            checkpoint's ``dataset_meta`` or the config's test dataset).
        palette (Sequence, optional): RGB colour per class (default for
            propagation models: the DAVIS palette of object ids).

    Raises:
        FileNotFoundError: The checkpoint does not exist.
        CheckpointError: torch cannot load the checkpoint (corrupt, or a
            class refused under ``weights_only``), checked before the model
            is built.
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
        check_checkpoint(checkpoint)  # before the (slow) model build
        model = MODELS.build(cfg.model)
        meta = {}
        if checkpoint is not None:
            ckpt = load_checkpoint(model, checkpoint, map_location='cpu')
            meta = ckpt.get('meta', {}).get('dataset_meta') or {}
        if not isinstance(model, StreamingMixin):
            raise TypeError(
                f'{type(model).__name__} is not a streaming model '
                '(StreamingMixin); VideoInferencer needs a '
                'VideoEncoderDecoder, a LabelPropagator or another model '
                'of the streaming contract')
        if not model.is_streaming:
            # clip-mode configs (e.g. TMANet) stream with as many cached
            # frames as the head has memory frames
            model.enable_streaming()
        self.model = model.to(device).eval()
        self.device = device
        self.propagates = model.requires_given_mask
        dataset_cfg = cfg.get('test_dataloader', {}).get('dataset', {})
        self.classes = classes or meta.get('classes')
        pal = palette if palette is not None else meta.get('palette')
        if self.propagates:
            self.palette = np.asarray(pal if pal is not None else
                                      davis_palette(), np.uint8).reshape(
                                          -1, 3)
            self.mask_palette = self.palette.reshape(-1).tolist()
        else:
            self.palette = as_palette(pal, self.model.num_classes)
            self.mask_palette = None
        steps = [
            t for t in dataset_cfg.get('pipeline', [])
            if t.get('type') not in SKIPPED_TRANSFORMS
        ]
        if not any(t.get('type') == 'PackVideoSegInputs' for t in steps):
            steps.append(dict(type='PackVideoSegInputs'))
        self.pipeline = Compose(steps)

    def _pack(self, frames: Dict[int, Tuple[str, np.ndarray]],
              video_id: str, index: int, is_last: bool,
              given: Optional[np.ndarray] = None) -> dict:
        """Pack the clip the model reads at frame ``index`` (its
        :meth:`~StreamingMixin.stream_frame_ids`) from buffered frames."""
        ids, key = self.model.stream_frame_ids(index, is_last)
        results = frame_results([frames[i][1] for i in ids],
                                [frames[i][0] for i in ids])
        results.update(video_id=video_id, frame_id=index, frame_ids=ids,
                       key_index=key)
        packed = self.pipeline(results)
        sample = packed['data_samples']
        if given is not None:
            sample.set_data({
                GIVEN_MASK_FIELD:
                PixelData(data=torch.from_numpy(given)[None])
            })
        return dict(inputs=[packed['inputs']], data_samples=[sample])

    def _given_masks(self, first_mask: Optional[MaskLike],
                     given_masks: Optional[Dict[int, MaskLike]]
                     ) -> Dict[int, Tuple[str, np.ndarray]]:
        """``{frame index: (what, (H, W) int64 ids)}``, checked."""
        masks = dict(given_masks or {})
        if first_mask is not None:
            if 0 in masks:
                raise ValueError('first_mask and given_masks[0] are both set')
            masks[0] = first_mask
        if masks and not self.propagates:
            raise ValueError(
                f'{type(self.model).__name__} does not take given masks; '
                'first_mask/given_masks are for mask-propagation models')
        if self.propagates and 0 not in masks:
            raise ValueError(
                f'{type(self.model).__name__} propagates masks: give the '
                'mask of the first frame (first_mask= / --first-mask)')
        out = {}
        for index, mask in sorted(masks.items()):
            what = mask if isinstance(mask, str) else f'mask of frame {index}'
            ids = read_mask(mask) if isinstance(mask, str) else np.asarray(
                mask)
            if ids.ndim != 2 or not np.issubdtype(ids.dtype, np.integer):
                raise ValueError(f'{what}: expected an (H, W) integer id '
                                 f'map, got {ids.dtype} {ids.shape}')
            out[int(index)] = (what, ids.astype(np.int64))
        return out

    @torch.no_grad()
    def predict_frames(self,
                       source: Union[Source, FrameSource],
                       video_id: str = 'video',
                       progress: bool = True,
                       first_mask: Optional[MaskLike] = None,
                       given_masks: Optional[Dict[int, MaskLike]] = None
                       ) -> Iterator[Tuple[str, np.ndarray, np.ndarray]]:
        """Yield ``(frame name, BGR frame, mask)`` for every frame.

        The model state is reset at the start and at the end, so
        consecutive calls with different videos do not share memory.

        Args:
            source (str | Sequence[np.ndarray] | FrameSource): One video.
            video_id (str): Name of the video in the model state.
            progress (bool): Show a progress bar.
            first_mask (str | np.ndarray, optional): Mask of frame 0 (a
                palette/indexed or greyscale PNG, or an (H, W) id array);
                required by mask-propagation models.
            given_masks (dict, optional): ``{frame index: mask}`` given at
                later frames (added to the permanent memory).
        """
        masks = self._given_masks(first_mask, given_masks)
        frames = source if isinstance(source, FrameSource) else \
            FrameSource(source)
        self.model.reset_state()
        bar = tqdm(
            total=len(frames) or None, disable=not progress, unit='frame',
            desc=f'segmenting {video_id}')
        try:
            for index, buffered, is_last in _look_ahead(
                    frames, self.model.lookahead):
                name, frame = buffered[index]
                given = masks.get(index)
                if given is not None and given[1].shape != frame.shape[:2]:
                    raise ValueError(
                        f'{given[0]}: mask size {given[1].shape} differs '
                        f'from frame {index} ({name}) size '
                        f'{frame.shape[:2]}')
                data = self._pack(buffered, video_id, index, is_last,
                                  None if given is None else given[1])
                sample = self.model.test_step(data)[0]
                mask = sample.pred_sem_seg.data[0].cpu().numpy()
                bar.update(1)
                yield name, frame, mask
        finally:
            bar.close()
            self.model.reset_state()

    def __call__(self,
                 source: Union[Source, Sequence[str]],
                 out_dir: Optional[str] = None,
                 overlay: Optional[str] = 'mp4',
                 save_masks: bool = True,
                 fps: Optional[float] = None,
                 progress: bool = True,
                 video_id: str = 'video',
                 side_by_side: bool = True,
                 first_mask: Optional[MaskLike] = None,
                 given_masks: Optional[Dict[int, MaskLike]] = None) -> dict:
        """Segment ``source``; write masks and an overlay into ``out_dir``.

        Args:
            source (str | Sequence): Video file, frame folder or list of BGR
                frames; or several videos: a list of paths, or a folder of
                video files / frame folders (outputs go to
                ``out_dir/<video name>/``).
            out_dir (str, optional): Output folder; without it nothing is
                written and the masks are returned (one video only).
            overlay (str, optional): ``'mp4'``, ``'gif'`` or None.
            save_masks (bool): Write ``masks/<frame>.png`` (class ids;
                palette PNGs of object ids for propagation models).
            fps (float, optional): Overlay frame rate (default: the video's,
                else 10).
            progress (bool): Show a progress bar.
            video_id (str): Name of a single video in the model state.
            side_by_side (bool): Overlay shows the frame and the blended
                prediction next to each other.
            first_mask (str | np.ndarray, optional): Mask of frame 0; for
                several videos a folder holding ``<video>.png`` or
                ``<video>/<first frame>.png`` per video.
            given_masks (dict, optional): ``{frame index: mask}`` given at
                later frames (one video only).

        Returns:
            dict: ``num_frames``, ``masks_dir``, ``overlay`` (paths or None)
            and ``masks`` (list of arrays, only without ``out_dir``); for
            several videos ``videos``: that dict per video name.
        """
        if overlay not in (None, 'mp4', 'gif'):
            raise ValueError(f"overlay must be 'mp4', 'gif' or None, got "
                             f'{overlay!r}')
        videos = list_videos(source)
        if videos is None:
            return self._run_video(source, out_dir, overlay, save_masks, fps,
                                   progress, video_id, side_by_side,
                                   first_mask, given_masks)
        if out_dir is None:
            raise ValueError('several videos need an out_dir')
        if given_masks:
            raise ValueError('given_masks is for one video; use one call '
                             'per video')
        if isinstance(first_mask, np.ndarray) or (
                isinstance(first_mask, str) and not osp.isdir(first_mask)):
            raise ValueError('for several videos, first_mask must be a '
                             'folder of <video>.png or <video>/ masks')
        results = {}
        for name, path in videos:
            mask = None if first_mask is None else _video_mask(
                first_mask, name)
            results[name] = self._run_video(
                path, osp.join(out_dir, name), overlay, save_masks, fps,
                progress, name, side_by_side, mask, None)
        return dict(videos=results)

    def _run_video(self, source, out_dir, overlay, save_masks, fps, progress,
                   video_id, side_by_side, first_mask, given_masks) -> dict:
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
                    frames, video_id, progress, first_mask, given_masks):
                count += 1
                if masks_dir is not None:
                    atomic_write_mask(
                        osp.join(masks_dir, f'{name}.png'), mask,
                        self.mask_palette)
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


def _look_ahead(frames: Iterable[Tuple[str, np.ndarray]], ahead: int
                ) -> Iterator[Tuple[int, Dict[int, tuple], bool]]:
    """Yield ``(index, {i: (name, frame)} for i in [index - 1, index +
    ahead], is_last)`` reading ``ahead`` frames in advance (``is_last`` is
    only known when ``ahead`` > 0)."""
    source = enumerate(frames)
    buffered: Dict[int, tuple] = {}
    done, index = False, 0
    while True:
        while not done and (not buffered or max(buffered) < index + ahead):
            try:
                i, item = next(source)
            except StopIteration:
                done = True
            else:
                buffered[i] = item
        if index not in buffered:
            return
        yield index, buffered, ahead > 0 and index + 1 not in buffered
        buffered.pop(index - 1, None)
        index += 1


def _video_mask(folder: str, name: str) -> str:
    """The first-frame mask of video ``name`` in a mask folder."""
    path = osp.join(folder, f'{name}.png')
    if osp.isfile(path):
        return path
    sub = osp.join(folder, name)
    pngs = sorted(f for f in os.listdir(sub)
                  if f.lower().endswith('.png')) if osp.isdir(sub) else []
    if not pngs:
        raise FileNotFoundError(f'no first-frame mask for video {name!r}: '
                                f'neither {path!r} nor PNGs in {sub!r}')
    return osp.join(sub, pngs[0])
