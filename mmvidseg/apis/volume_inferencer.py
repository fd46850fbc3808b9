"""Two-stage CT volume inference: reference slices, then propagation."""
import os.path as osp
import time
import warnings
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint
from tqdm import tqdm

from mmvidseg.utils.checkpoint_compat import check_checkpoint

from .volume_io import (from_canonical, list_volumes, read_canonical,
                        write_labels_like)
from .volume_references import (candidate_slices, case_name,
                                propagation_ranges, select_references,
                                visited_slices)
from .volume_steps import (cps_predict, labels_from_acc, new_accumulator,
                           normalizer, prepare_slices, propagate_volume,
                           resize_labels, size_hw)

ACC_DTYPES = dict(float32=torch.float32, float16=torch.float16)
STAGES = ('two', 'cps')


def build_model(config: Union[str, Config], checkpoint: Optional[str],
                device: str, what: str) -> torch.nn.Module:
    """Build ``config.model``, load ``checkpoint`` (if given), eval mode.

    Raises:
        FileNotFoundError: The config or the checkpoint does not exist.
        CheckpointError: torch cannot load the checkpoint.
    """
    import mmvidseg  # noqa: F401 (registers the modules)
    from mmvidseg.registry import MODELS
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'{what} config {config!r} not found')
        config = Config.fromfile(config)
    init_default_scope(config.get('default_scope', 'mmseg'))
    check_checkpoint(checkpoint, what=f'{what} checkpoint')
    model = MODELS.build(config.model)
    if checkpoint is not None:
        load_checkpoint(model, checkpoint, map_location='cpu')
    else:
        warnings.warn(f'no {what} checkpoint: the {what} model keeps its '
                      'initialisation')
    return model.to(device).eval()


class TwoStageVolumeInferencer:
    """Segment CT volumes: reference model on a few slices, propagation.

    Stage 1: the reference (CPS) model predicts the candidate slices
    (:func:`candidate_slices`: every ``sample_every``-th, at most
    ``max_refs``); per organ the candidate where its predicted area is
    largest becomes a reference slice (:func:`select_references`), its
    whole predicted mask the reference mask. Stage 2: the propagator
    (``STCN.propagate_range``) runs every range between references
    (:func:`propagation_ranges`, both directions with ``bidirectional``),
    each with a fresh memory, adding probabilities into one accumulator;
    the labels are its argmax, resized back (nearest) to the input's
    in-plane size and written in the input's orientation and geometry.

    Volumes are read in RAS+ orientation (as our volume datasets), axial
    slices ``canonical[..., k]``, windowed with :func:`ct_multi_window`,
    resized to ``size`` and padded to a multiple of 16.

    Memory: what grows with the number of slices T is the input volume
    (stored dtype), its windowed slices (T x 3 x H x W float32: 3 MiB per
    slice at 512 x 512), the accumulator (K x T x H x W: 14 MiB per slice
    at 512 x 512 for K = 14 in float32, half with ``acc_dtype='float16'``;
    it lives on ``acc_device``, the CPU by default) and the output labels
    (uint8). Features are never kept for all slices: the propagator
    encodes one slice at a time and its memory holds at most the reference,
    ``max_mem_frames`` working entries and one temporary entry, flushed
    after every range (kept on the CPU with ``memory_on_cpu``).

    Args:
        cps_model: Reference segmentor (see :func:`cps_predict`).
        propagator: Model with ``propagate_range`` and ``data_preprocessor``
            (normalisation of its inputs); None for the reference model
            alone (``stage='cps'``).
        device (str): Device of the models.
        size (int | tuple): Model input size (H, W).
        sample_every (int): Candidate sampling step.
        max_refs (int): Most candidates.
        bidirectional (bool): Propagate both ways between references.
        memory_on_cpu (bool): Keep the propagation memory on the CPU.
        max_mem_frames (int, optional): Working memory entries per range
            (None: unbounded). The default 40 is what the original's
            ``max_k = 200`` flush allowed at ``mem_every = 5``.
        acc_dtype (str): ``'float32'`` or ``'float16'``.
        acc_device (str): Device of the accumulator.
        cps_batch_size (int): Slices per reference-model call.
        num_classes (int, optional): Classes incl. background (default:
            the reference model's ``num_classes``, else 14).
        mem_every (int, optional), include_last (bool, optional): Passed to
            ``propagate_range`` when given (else its defaults).
        progress (bool): Show a progress bar over slices.
    """

    def __init__(self,
                 cps_model,
                 propagator,
                 device: str = 'cpu',
                 size: Union[int, Sequence[int]] = 512,
                 sample_every: int = 5,
                 max_refs: int = 64,
                 bidirectional: bool = True,
                 memory_on_cpu: bool = False,
                 max_mem_frames: Optional[int] = 40,
                 acc_dtype: str = 'float32',
                 acc_device: str = 'cpu',
                 cps_batch_size: int = 4,
                 num_classes: Optional[int] = None,
                 mem_every: Optional[int] = None,
                 include_last: Optional[bool] = None,
                 progress: bool = True) -> None:
        if propagator is not None and not callable(
                getattr(propagator, 'propagate_range', None)):
            raise TypeError(f'{type(propagator).__name__} has no '
                            'propagate_range(); a propagation model (STCN) '
                            'is needed')
        if acc_dtype not in ACC_DTYPES:
            raise ValueError(f'acc_dtype must be one of {list(ACC_DTYPES)}, '
                             f'got {acc_dtype!r}')
        candidate_slices(0, sample_every, max_refs)  # checks the values
        self.cps_model = cps_model
        self.propagator = propagator
        self.device = device
        self.size = size_hw(size if isinstance(size, int) else tuple(size))
        self.sample_every = sample_every
        self.max_refs = max_refs
        self.bidirectional = bidirectional
        self.acc_dtype = ACC_DTYPES[acc_dtype]
        self.acc_device = acc_device
        self.cps_batch_size = cps_batch_size
        self.num_classes = int(num_classes or getattr(
            cps_model, 'num_classes', None) or 14)
        self.range_kwargs = dict(
            storage_device='cpu' if memory_on_cpu else None,
            max_frames=max_mem_frames)
        if mem_every is not None:
            self.range_kwargs['mem_every'] = mem_every
        if include_last is not None:
            self.range_kwargs['include_last'] = include_last
        self.progress = progress
        self.normalize = normalizer(
            getattr(propagator, 'data_preprocessor', None))

    @classmethod
    def from_configs(cls, cps_config, cps_checkpoint, stcn_config,
                     stcn_checkpoint, device: str = 'cpu',
                     **kwargs) -> 'TwoStageVolumeInferencer':
        """Build both models from their configs and checkpoints (None:
        random initialisation, with a warning)."""
        cps = build_model(cps_config, cps_checkpoint, device, 'CPS')
        stcn = build_model(stcn_config, stcn_checkpoint, device, 'STCN')
        return cls(cps, stcn, device=device, **kwargs)

    # ---------------------------------------------------------------- steps
    def _sync(self) -> None:
        if str(self.device).startswith('cuda') and torch.cuda.is_available():
            torch.cuda.synchronize(self.device)

    def _bar(self, total: int, desc: str):
        return tqdm(total=total, desc=desc, unit='slice', leave=False,
                    disable=not self.progress)

    @staticmethod
    def _pad(frames: torch.Tensor, masks: Dict[int, torch.Tensor]):
        """Pad frames (T, 3, H, W) and masks (H, W) to multiples of 16 (the
        original's ``pad_divide_by``); no copy when they already are."""
        if frames.size(-2) % 16 == 0 and frames.size(-1) % 16 == 0:
            return frames, masks, None
        from mmvidseg.models.utils.padding import pad_to_multiple, unpad
        frames, pad = pad_to_multiple(frames, 16)
        masks = {k: pad_to_multiple(m[None, None], 16)[0][0, 0]
                 for k, m in masks.items()}
        return frames, masks, lambda x: unpad(x, pad)

    def predict_cps(self, hu: np.ndarray) -> Dict:
        """Reference-model labels on every slice (``stage='cps'``)."""
        t0 = time.perf_counter()
        n = hu.shape[2]
        labels = np.empty(hu.shape, np.uint8)
        with self._bar(n, 'CPS') as bar:
            for i in range(0, n, self.cps_batch_size):
                ids = list(range(i, min(i + self.cps_batch_size, n)))
                pred = cps_predict(self.cps_model,
                                   prepare_slices(hu, self.size, ids),
                                   [k / n for k in ids], len(ids))
                labels[..., ids] = resize_labels(pred, hu.shape[:2])
                bar.update(len(ids))
        self._sync()
        sec = time.perf_counter() - t0
        return dict(labels=labels, timings=dict(cps_s=sec, total_s=sec))

    def predict_volume(self, hu: np.ndarray) -> Dict:
        """Two-stage labels of one canonical volume.

        Args:
            hu (np.ndarray): (X, Y, T) canonical volume in HU.

        Returns:
            dict: ``labels`` (X, Y, T) uint8, ``candidates``,
            ``references`` (slice indices), ``ranges`` and ``timings``
            (seconds: ``prepare_s``, ``cps_s``, ``propagation_s``,
            ``total_s``).
        """
        if self.propagator is None:
            raise ValueError('two-stage inference needs a propagation model '
                             '(STCN); without one only stage "cps" runs')
        t0 = time.perf_counter()
        n = hu.shape[2]
        windows = prepare_slices(hu, self.size)
        t1 = time.perf_counter()
        cands = candidate_slices(n, self.sample_every, self.max_refs)
        if not cands:  # the original fails on < sample_every slices
            cands = list(range(n))
        preds = cps_predict(self.cps_model, windows, [k / n for k in cands],
                            self.cps_batch_size, cands)
        refs = select_references(dict(zip(cands, preds.numpy())),
                                 self.num_classes)
        self._sync()
        t2 = time.perf_counter()
        frames = self.normalize(windows)
        del windows
        frames, references, unpad_fn = self._pad(
            frames, {k: preds[cands.index(k)] for k in refs})
        acc = new_accumulator(self.num_classes, n, frames.shape[-2:],
                              self.acc_dtype, self.acc_device)
        total = sum(len(visited_slices(s, e))
                    for s, e in propagation_ranges(refs, n,
                                                   self.bidirectional))
        with self._bar(total, 'propagation') as bar:
            ranges = propagate_volume(self.propagator, frames, references,
                                      acc, self.bidirectional, bar.update,
                                      **self.range_kwargs)
        del frames
        labels = labels_from_acc(acc, hu.shape[:2], unpad_fn)
        self._sync()
        t3 = time.perf_counter()
        return dict(labels=labels, candidates=cands, references=refs,
                    ranges=ranges,
                    timings=dict(prepare_s=t1 - t0, cps_s=t2 - t1,
                                 propagation_s=t3 - t2, total_s=t3 - t0))

    # ----------------------------------------------------------------- files
    def __call__(self, inputs: Union[str, Sequence[str]], out_dir: str,
                 stage: str = 'two') -> Dict[str, Dict]:
        """Segment NIfTI volumes and write ``<out_dir>/<case>.nii.gz``.

        Args:
            inputs (str | Sequence[str]): A volume, a folder of volumes or
                a list of volumes (``*.nii.gz`` / ``*.nii``).
            out_dir (str): Output folder.
            stage (str): ``'two'`` (two-stage) or ``'cps'`` (the reference
                model on every slice).

        Returns:
            dict: Case -> ``out`` (path), ``num_slices``, ``references``,
            ``timings`` and ``slices_per_s``.

        Raises:
            FileNotFoundError: A missing input.
            ValueError: An unknown stage or an input that is not a 3D
                NIfTI volume.
        """
        if stage not in STAGES:
            raise ValueError(f'stage must be one of {STAGES}, got {stage!r}')
        paths: List[str] = []
        for p in [inputs] if isinstance(inputs, str) else inputs:
            paths += list_volumes(p)
        results = {}
        for path in paths:
            results[case_name(path)] = self.infer_file(path, out_dir, stage)
        return results

    def infer_file(self, path: str, out_dir: str,
                   stage: str = 'two') -> Dict:
        """Segment one NIfTI file; see :meth:`__call__`."""
        case = case_name(path)
        hu, img = read_canonical(path)
        res = (self.predict_volume(hu) if stage == 'two' else
               self.predict_cps(hu))
        out = osp.join(out_dir, f'{case}.nii.gz')
        write_labels_like(from_canonical(res['labels'], img), img, out)
        timings = res['timings']
        n = hu.shape[2]
        speed = n / max(timings['total_s'], 1e-9)
        refs = res.get('references')
        print_log(
            f'{case}: {n} slices in {timings["total_s"]:.2f}s '
            f'({speed:.2f} slices/s; ' + ', '.join(
                f'{k[:-2]} {v:.2f}s' for k, v in timings.items()
                if k != 'total_s') + ')' +
            ('' if refs is None else f'; references {refs}') + f' -> {out}',
            logger='current')
        return dict(out=out, num_slices=n, references=refs, timings=timings,
                    slices_per_s=speed)
