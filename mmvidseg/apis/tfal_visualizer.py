"""MS-TFAL affinity-confidence visualisation (``TFAL_visualization.py``).

:class:`TFALVisualizer` loads an :class:`MSTFALSegmentor` and the
:class:`MSTFALHook` of its config and

1. ranks the training videos by TFAL's reliability ``q = mean a_p + 1 -
   mean a_n`` over the hook's reliability dataloader (every training frame
   with its previous frame, noisy labels), as training does every epoch of
   stages 2-4 (:meth:`TFALVisualizer.rank`, written as JSON and CSV by
   :meth:`TFALVisualizer.save_ranking`);
2. writes, for the first frames of each video, the min-max normalised
   confidence map ``a_p + 1 - a_n``, the selected-noise masks of the four
   selection modes and a side-by-side panel
   (:meth:`TFALVisualizer.visualize`).
"""
import copy
import csv
import io
import json
import math
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from torch import Tensor
from tqdm import tqdm

from mmvidseg.registry import DATASETS, HOOKS, MODELS

from ..engine.hooks.ms_tfal_hook import accumulate_video_affinity, rank_videos
from ..models.utils.tfal import (NOISE_MODES, TFALAffinity, confidence_map,
                                 select_noise, tfal_affinity)
from ..utils.checkpoint_compat import allow_mmengine_checkpoints
from ..utils.io import atomic_imwrite, atomic_write_bytes

CSV_FIELDS = ('rank', 'video', 'frames', 'mean_a_p', 'one_minus_mean_a_n',
              'q', 'weight', 'uncertain')


def minmax_normalise(x: Tensor) -> Tensor:
    """Min-max normalise each frame to [0, 1] (sklearn's ``MinMaxScaler``
    as the original uses it: a constant frame becomes 0).

    Args:
        x (Tensor): Maps (B, H, W).

    Returns:
        Tensor: (B, H, W), same dtype.
    """
    flat = x.reshape(x.shape[0], -1)
    low = flat.min(1, keepdim=True).values
    span = flat.max(1, keepdim=True).values - low
    span = torch.where(span == 0, torch.ones_like(span), span)
    return ((flat - low) / span).reshape(x.shape)


@torch.no_grad()
def tfal_visual_maps(aff: TFALAffinity,
                     size: Sequence[int],
                     ratio: float = 0.4,
                     modes: Sequence[str] = NOISE_MODES
                     ) -> Tuple[Tensor, Dict[str, Tensor]]:
    """Confidence map and noise masks of ``TFAL_visualization.py``.

    Args:
        aff (TFALAffinity): :func:`tfal_affinity` of frames t and t-1.
        size (Sequence[int]): Input size (H, W); ``a_p``, ``a_n`` are
            bilinearly upsampled to it.
        ratio (float): Share of pixels in ``N_p`` and ``N_n`` (0.4 in the
            original visualisation, 0.3 in training).
        modes (Sequence[str]): Selection modes among ``'intersection'``,
            ``'union'``, ``'p'``, ``'n'``.

    Returns:
        tuple: The min-max normalised confidence ``a_p + 1 - a_n`` per
        frame (B, H, W) and ``{mode: noise mask (B, H, W) bool}``.
    """
    conf = minmax_normalise(confidence_map(aff, size))
    return conf, {m: select_noise(aff, size, ratio, m) for m in modes}


def _clean(value: float) -> Optional[float]:
    return None if value is None or math.isnan(value) else float(value)


class TFALVisualizer:
    """Video ranking and affinity maps of a trained MS-TFAL model.

    Args:
        config (str | Config): An MS-TFAL config with an ``MSTFALHook`` in
            ``custom_hooks`` (its ``reliability_dataloader``,
            ``rank_weights`` and ``num_uncertain`` are used).
        checkpoint (str, optional): Weights; None keeps the initialisation
            (for tests).
        device (str): ``'cpu'`` or ``'cuda[:i]'``.
        clean_label_dir (str, optional): ``label_dir`` of the clean labels
            shown in the panels (EndoVis18: ``'class_labels'``); None or
            missing labels: no clean column.

    Raises:
        ValueError: The config has no ``MSTFALHook``.
        TypeError: The model is not an MS-TFAL segmentor.
        FileNotFoundError: The checkpoint does not exist.
    """

    def __init__(self,
                 config: Union[str, Config],
                 checkpoint: Optional[str] = None,
                 device: str = 'cpu',
                 clean_label_dir: Optional[str] = 'class_labels') -> None:
        import mmvidseg  # noqa: F401 (registers the modules)
        cfg = Config.fromfile(config) if isinstance(config, str) else config
        name = cfg.filename or 'the config'
        init_default_scope(cfg.get('default_scope', 'mmseg'))
        hooks = [h for h in cfg.get('custom_hooks', None) or []
                 if str(h.get('type', '')).split('.')[-1] == 'MSTFALHook']
        if not hooks:
            raise ValueError(
                f'{name} has no MSTFALHook in custom_hooks (its '
                'reliability_dataloader and rank_weights are needed)')
        self.hook = HOOKS.build(copy.deepcopy(hooks[0]))
        model = MODELS.build(cfg.model)
        if not hasattr(model, 'frame_forward'):
            raise TypeError(f'{type(model).__name__} of {name} is not an '
                            'MS-TFAL segmentor (no frame_forward)')
        if checkpoint is not None:
            if not osp.isfile(checkpoint):
                raise FileNotFoundError(
                    f'checkpoint {checkpoint!r} not found')
            allow_mmengine_checkpoints()
            load_checkpoint(model, checkpoint, map_location='cpu')
        self.model = model.to(device).eval()
        self.cfg = cfg
        self.clean_label_dir = clean_label_dir

    # ------------------------------------------------------------ ranking
    def rank(self, progress: bool = True) -> dict:
        """Rank the videos of the reliability dataloader.

        Returns:
            dict: See :func:`rank_videos`, plus ``rank_weights`` and
            ``num_uncertain``.
        """
        loader = Runner.build_dataloader(
            copy.deepcopy(self.hook.reliability_dataloader))
        sums = accumulate_video_affinity(self.model, loader, progress)
        if not sums:
            raise ValueError('the reliability dataloader yielded no frames')
        ranking = rank_videos(sums, self.hook.rank_weights,
                              self.hook.num_uncertain)
        ranking.update(rank_weights=list(self.hook.rank_weights),
                       num_uncertain=self.hook.num_uncertain)
        return ranking

    @staticmethod
    def ranking_rows(ranking: dict) -> List[dict]:
        """One row per video, least reliable first (``CSV_FIELDS``)."""
        uncertain = set(ranking['uncertain'])
        return [
            dict(rank=i + 1, video=v, frames=ranking['frames'][v],
                 mean_a_p=_clean(ranking['pos'][v]),
                 one_minus_mean_a_n=_clean(ranking['neg'][v]),
                 q=_clean(ranking['reliability'][v]),
                 weight=ranking['weights'][v], uncertain=v in uncertain)
            for i, v in enumerate(ranking['order'])
        ]

    @classmethod
    def format_ranking(cls, ranking: dict) -> str:
        """The ranking as a text table (least reliable first)."""

        def num(x):
            return 'nan' if x is None else f'{x:.4f}'

        lines = ['MS-TFAL video reliability (least reliable first):',
                 f'{"rank":>4}  {"video":<12} {"frames":>6}  {"mean a_p":>9}'
                 f'  {"1-mean a_n":>10}  {"q":>7}  {"weight":>6}  U']
        for r in cls.ranking_rows(ranking):
            lines.append(
                f'{r["rank"]:>4}  {r["video"]:<12} {r["frames"]:>6}  '
                f'{num(r["mean_a_p"]):>9}  '
                f'{num(r["one_minus_mean_a_n"]):>10}  {num(r["q"]):>7}  '
                f'{r["weight"]:>6.2f}  {"*" if r["uncertain"] else ""}')
        lines.append(f'p_thr={ranking["p_thr"]:.4f} '
                     f'n_thr={ranking["n_thr"]:.4f} '
                     f'rank_weights={ranking["rank_weights"]} '
                     f'U={ranking["uncertain"]}')
        return '\n'.join(lines)

    @classmethod
    def save_ranking(cls, ranking: dict, out_dir: str) -> Tuple[str, str]:
        """Write ``reliability.json`` and ``reliability.csv`` atomically.

        Returns:
            tuple[str, str]: The JSON and CSV paths.
        """
        rows = cls.ranking_rows(ranking)
        report = dict(
            videos=rows, p_thr=_clean(ranking['p_thr']),
            n_thr=_clean(ranking['n_thr']), uncertain=ranking['uncertain'],
            rank_weights=ranking['rank_weights'],
            num_uncertain=ranking['num_uncertain'])
        json_path = osp.join(out_dir, 'reliability.json')
        csv_path = osp.join(out_dir, 'reliability.csv')
        atomic_write_bytes(
            json_path,
            json.dumps(report, indent=2, allow_nan=False).encode() + b'\n')
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=CSV_FIELDS,
                                lineterminator='\n')
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_bytes(csv_path, buf.getvalue().encode())
        return json_path, csv_path

    # ---------------------------------------------------------- per frame
    def _datasets(self) -> Tuple[object, Optional[object]]:
        ds_cfg = copy.deepcopy(self.hook.reliability_dataloader['dataset'])
        dataset = DATASETS.build(copy.deepcopy(ds_cfg))
        clean = None
        if self.clean_label_dir is not None and 'label_dir' in ds_cfg:
            ds_cfg['label_dir'] = self.clean_label_dir
            try:
                clean = DATASETS.build(ds_cfg)
            except (FileNotFoundError, ValueError) as e:
                print_log(f'no clean labels for the panels: {e}',
                          logger='current')
        return dataset, clean

    @staticmethod
    def _select(dataset, frames: int,
                videos: Optional[Sequence[str]]) -> List[int]:
        """Indices of the first ``frames`` items of each selected video."""
        per_video: Dict[str, List[Tuple[int, int]]] = {}
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            per_video.setdefault(str(info['video_id']), []).append(
                (int(info['frame_id']), i))
        if videos:
            unknown = [v for v in videos if v not in per_video]
            if unknown:
                raise ValueError(f'unknown videos {unknown}; the reliability '
                                 f'dataset has {sorted(per_video)}')
        chosen = list(videos) if videos else list(per_video)
        return [i for v in chosen for _, i in sorted(per_video[v])[:frames]]

    @torch.no_grad()
    def visualize(self,
                  out_dir: str,
                  frames: int = 4,
                  ratio: float = 0.4,
                  videos: Optional[Sequence[str]] = None,
                  progress: bool = True) -> Dict[str, List[str]]:
        """Write the maps of the first ``frames`` frames of each video.

        Files, per frame (``<stem>`` = the frame file name without
        extension): ``<out_dir>/<video>/<stem>_confidence.png`` (the
        min-max normalised ``a_p + 1 - a_n``, JET colour map),
        ``<stem>_noise_<mode>.png`` (0/255, ``mode`` in p / n /
        intersection / union, ``K = int(ratio * H * W)`` pixels per set)
        and ``<stem>_panel.png`` (frame | noisy label | clean label if
        available | confidence | intersection mask, each H x W).

        Args:
            out_dir (str): Output folder.
            frames (int): Frames per video (the first ones).
            ratio (float): Noise selection ratio (0.4 as the original's
                visualisation; training uses 0.3).
            videos (Sequence[str], optional): Video ids (default: all).
            progress (bool): Show a progress bar.

        Returns:
            dict: ``video -> [frame stems written]``.
        """
        if frames < 0:
            raise ValueError(f'frames must be >= 0, got {frames}')
        if not 0 <= ratio <= 1:
            raise ValueError(f'ratio must be in [0, 1], got {ratio}')
        dataset, clean = self._datasets()
        palette = _palette(dataset.metainfo.get('palette'))
        written: Dict[str, List[str]] = {}
        model = self.model
        was_training = model.training
        model.eval()
        try:
            for i in tqdm(self._select(dataset, frames, videos),
                          desc='MS-TFAL maps', disable=not progress):
                video, stem = self._draw(dataset, clean, i, out_dir, ratio,
                                         palette)
                written.setdefault(video, []).append(stem)
        finally:
            model.train(was_training)
        return written

    def _draw(self, dataset, clean, i: int, out_dir: str, ratio: float,
              palette: np.ndarray) -> Tuple[str, str]:
        """Write the maps of item ``i``; returns ``(video, stem)``."""
        model = self.model
        item = dataset[i]
        info = dataset.get_data_info(i)
        data = model.data_preprocessor(pseudo_collate([item]), False)
        inputs = data['inputs']
        sample = data['data_samples'][0]
        _, emb = model.frame_forward(inputs[:, 0])
        _, emb_prev = model.frame_forward(inputs[:, 1])
        labels = sample.gt_clip_seg.data[None]  # (1, 2, H, W)
        small = F.interpolate(labels.float(), size=emb.shape[-2:],
                              mode='nearest').long()
        aff = tfal_affinity(emb, emb_prev, small[:, 0], small[:, 1],
                            model.num_classes)
        size = tuple(inputs.shape[-2:])
        conf, masks = tfal_visual_maps(aff, size, ratio)
        clean_label = None
        if clean is not None:
            c_info = clean.get_data_info(i)
            if (c_info['video_id'], c_info['frame_id']) == \
                    (info['video_id'], info['frame_id']):
                clean_label = clean[i]['data_samples'].gt_clip_seg.data[0]
        video = str(info['video_id'])
        stem = osp.splitext(osp.basename(info['img_path']))[0]
        base = osp.join(out_dir, video, stem)
        heat = cv2.applyColorMap(
            (conf[0].cpu().numpy() * 255).round().astype(np.uint8),
            cv2.COLORMAP_JET)
        atomic_imwrite(f'{base}_confidence.png', heat)
        for mode, mask in masks.items():
            atomic_imwrite(f'{base}_noise_{mode}.png',
                           mask[0].cpu().numpy().astype(np.uint8) * 255)
        columns = [_frame_bgr(item['inputs'][0], size),
                   palette[_fit(labels[0, 0].cpu().numpy(), size)]]
        if clean_label is not None:
            columns.append(palette[_fit(clean_label.numpy(), size)])
        inter = masks['intersection'][0].cpu().numpy()
        columns += [heat, np.repeat(inter[..., None].astype(np.uint8)
                                    * 255, 3, axis=2)]
        atomic_imwrite(f'{base}_panel.png', np.concatenate(columns, 1))
        return video, stem


def _palette(palette: Optional[Sequence]) -> np.ndarray:
    """A (256, 3) BGR look-up table of class colours (255 etc. black)."""
    lut = np.zeros((256, 3), np.uint8)
    if palette is None:
        rng = np.random.RandomState(42)
        palette = rng.randint(0, 256, (255, 3))
    pal = np.asarray(palette, np.uint8).reshape(-1, 3)[:255]
    lut[:len(pal)] = pal[:, ::-1]
    return lut


def _fit(arr: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Crop or zero-pad (H', W'[, C]) to ``size`` (the padded input)."""
    out = np.zeros(tuple(size) + arr.shape[2:], arr.dtype)
    h, w = min(size[0], arr.shape[0]), min(size[1], arr.shape[1])
    out[:h, :w] = arr[:h, :w]
    return np.clip(out, 0, 255).astype(np.uint8) if out.ndim == 2 else out


def _frame_bgr(frame: Tensor, size: Tuple[int, int]) -> np.ndarray:
    """A packed (C, H, W) frame (BGR, mmseg's convention) as uint8 HWC."""
    img = frame.permute(1, 2, 0).cpu().numpy()
    img = np.clip(img, 0, 255).astype(np.uint8)
    if img.shape[2] == 1:
        img = np.repeat(img, 3, axis=2)
    return _fit(img[..., :3], size)
