"""STCN inference: the per-frame steps, VOS streaming and volume ranges."""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample
from torch import Tensor

from ..utils import MemoryBank, pad_to_multiple, soft_aggregate, unpad

#: Input sides are padded to a multiple of the key stride.
STRIDE = 16


class STCNInferenceMixin:
    """Inference of :class:`STCN` (mixed into it; needs ``encode_key``,
    ``encode_value``, ``decode``, ``value_dim`` and ``test_cfg``).

    One memory step is shared by the streaming :meth:`predict` and by
    :meth:`propagate_range`: :meth:`segment_frame` reads the memory (one
    top-k affinity for all objects, their values side by side as channels),
    decodes every object, applies ``sigmoid`` and the soft aggregation;
    :meth:`memorise` encodes a frame's values from (soft) object masks and
    writes them to a :class:`MemoryBank` as ``'permanent'`` (references,
    given masks), ``'working'`` (every ``mem_every``-th frame, prunable
    under ``max_frames``) or ``'temporary'`` (the last frame).
    """

    # ----------------------------------------------------------- the step
    @property
    def _device(self) -> torch.device:
        return next(self.parameters()).device

    def new_memory(self,
                   storage_device: Optional[str] = None,
                   max_frames: Optional[int] = None) -> MemoryBank:
        """An empty memory with the ``test_cfg`` read settings."""
        cfg = self.test_cfg
        return MemoryBank(
            'neg_l2', topk=cfg['topk'], prune=cfg['prune'],
            max_frames=cfg['max_frames'] if max_frames is None else
            max_frames,
            storage_device=cfg['storage_device']
            if storage_device is None else storage_device)

    def segment_frame(self, frame: Tensor, bank: MemoryBank,
                      num_objects: int) -> Tuple[Tensor, tuple]:
        """Aggregated probabilities of a frame read from ``bank``.

        Args:
            frame (Tensor): (1, 3, H, W), sides multiples of 16.
            bank (MemoryBank): Memory of ``num_objects`` objects.

        Returns:
            tuple: ``prob`` (O + 1, H, W), background first, and the
            frame's ``(k16, f16)`` for :meth:`memorise`.
        """
        k16, thin, f16, f8, f4 = self.encode_key(frame)
        h, w = k16.shape[-2:]
        readout = bank.read(k16).view(1, num_objects, -1, h, w)
        prob = torch.sigmoid(self.decode(readout, thin, f8, f4))[0]
        return soft_aggregate(prob, 0), (k16, f16)

    def memorise(self, frame: Tensor, feats: tuple, prob: Tensor,
                 bank: MemoryBank, kind: str) -> None:
        """Write a frame's key and per-object values (side by side as
        channels) to ``bank``; a non-temporary write drops the temporary
        entry, as the original's ``add_memory``.

        Args:
            frame (Tensor): (1, 3, H, W).
            feats (tuple): ``(k16, f16)`` of the frame.
            prob (Tensor): (O + 1, H, W) background and soft object masks
                (STCN encodes the objects ``prob[1:]``).
            kind (str): ``'permanent'``, ``'working'`` or ``'temporary'``.
        """
        k16, f16 = feats
        value = self.encode_value(frame, f16, prob[1:, None])
        if kind != 'temporary':
            bank.drop_temporary()
        bank.write(k16, value.reshape(1, -1, *value.shape[-2:]), kind)

    # -------------------------------------------------------- volume range
    @torch.no_grad()
    def propagate_range(self,
                        frames: Tensor,
                        start: int,
                        end: int,
                        ref_mask: Tensor,
                        acc: Tensor,
                        *,
                        num_objects: int,
                        mem_every: int = 5,
                        include_last: bool = True,
                        storage_device: Optional[str] = None,
                        max_frames: Optional[int] = None) -> None:
        """One range of ``inference_core_efficient`` (``interact`` +
        ``do_pass``) on normalised, padded slices.

        The reference: the one-hot of ``ref_mask`` (objects 1..O) is softly
        aggregated and added to ``acc[:, start]``; its key and values (from
        the accumulated ``acc[1:, start]``) are the permanent memory.
        Forward (``end > start``) visits ``start + 1 .. end - 1``; backward
        (``end <= start``) visits ``start, start - 1, .., end`` (the
        reference slice again). Each visited slice ``t`` gets ``acc[:, t]
        += prob``; then, except for the original's "last" slice (``end - 1``
        forward, ``end + 1`` backward: in the backward direction the last
        visited slice is still encoded, the one before it is not), its
        values are encoded from the accumulated ``acc[1:, t]`` and stored as
        working memory if ``t % mem_every == 0``, else (``include_last``)
        as the temporary entry. The memory lives for this call only. The
        caller initialises ``acc`` (the original: 0, background 1e-7).

        Departure: the original flushes the whole memory (reference
        included) after ``max_k`` (200) writes; here ``max_frames`` bounds
        the working entries (``test_cfg.prune``) and the reference stays.

        Args:
            frames (Tensor): (T, 3, H, W) normalised slices, H and W
                multiples of 16, on any device (moved one at a time).
            start (int): Reference slice.
            end (int): End of the range (exclusive forward; inclusive
                backward), ``0 <= end <= T``.
            ref_mask (Tensor): (H, W) ids in ``0..num_objects``.
            acc (Tensor): (num_objects + 1, T, H, W) float accumulator,
                updated in place.
            num_objects (int): Objects (background excluded).
            mem_every (int): Working-memory period.
            include_last (bool): Keep the last frame as temporary memory.
            storage_device (str, optional): Where the memory is kept.
            max_frames (int, optional): Working-memory budget.
        """
        t_all, _, h, w = frames.shape
        if frames.dim() != 4 or h % STRIDE or w % STRIDE:
            raise ValueError('propagate_range: frames must be (T, 3, H, W) '
                             f'with H, W multiples of {STRIDE} (pad with '
                             f'pad_to_multiple), got {tuple(frames.shape)}')
        if tuple(acc.shape) != (num_objects + 1, t_all, h, w):
            raise ValueError(
                'propagate_range: acc must be '
                f'{(num_objects + 1, t_all, h, w)}'
                f' (num_objects + 1, T, H, W), got {tuple(acc.shape)}')
        if tuple(ref_mask.shape) != (h, w):
            raise ValueError(f'propagate_range: ref_mask must be {(h, w)}, '
                             f'got {tuple(ref_mask.shape)}')
        if not (0 <= start < t_all and 0 <= end <= t_all) or mem_every < 1:
            raise ValueError(f'propagate_range: bad range {start} -> {end} '
                             f'for {t_all} slices (or mem_every < 1)')
        ref_mask = ref_mask.long()
        if int(ref_mask.min()) < 0 or int(ref_mask.max()) > num_objects:
            raise ValueError(f'propagate_range: ref_mask ids must be in '
                             f'0..{num_objects}')
        dev = self._device
        bank = self.new_memory(storage_device, max_frames)

        def frame(t: int) -> Tensor:
            return frames[t:t + 1].to(dev, torch.float32)

        def accumulated(t: int) -> Tensor:
            return acc[:, t].to(dev, torch.float32)

        onehot = F.one_hot(ref_mask.to(dev), num_objects + 1).permute(
            2, 0, 1)[1:].float()
        acc[:, start] += soft_aggregate(onehot, 0).to(acc)
        img = frame(start)
        k16, _, f16, _, _ = self.encode_key(img)
        self.memorise(img, (k16, f16), accumulated(start), bank,
                      'permanent')
        if end > start:
            order, last = range(start + 1, end), end - 1
        else:
            order, last = range(start, end - 1, -1), end + 1
        for t in order:
            img = frame(t)
            prob, feats = self.segment_frame(img, bank, num_objects)
            acc[:, t] += prob.to(acc)
            if t == last:
                continue
            is_mem = t % mem_every == 0
            if is_mem or include_last:
                self.memorise(img, feats, accumulated(t), bank,
                              'working' if is_mem else 'temporary')
        bank.reset()

    # ------------------------------------------------------ VOS streaming
    def _reset_stream_state(self) -> None:
        self._bank: Optional[MemoryBank] = None
        self._ids: Optional[Tensor] = None
        self._count = 0

    def _given_frame(self, frame: Tensor, given: Tensor,
                     hw: Tuple[int, int]) -> Tensor:
        """Store a given id map (at the original size) as permanent memory;
        return its aggregated one-hot (O + 1, H', W') on the padded frame."""
        if tuple(given.shape) != hw:
            given = F.interpolate(given[None, None].float(), size=hw,
                                  mode='nearest')[0, 0].long()
        ids = torch.unique(given)
        ids = ids[(ids != 0) & (ids != self.ignore_index)]
        new = ids[~torch.isin(ids, self._ids)]
        if len(new):
            if self._bank.entries:
                self._bank.pad_values(self.value_dim * len(new))
            self._ids = torch.cat([self._ids, new])
        index = torch.zeros_like(given)
        for i, obj in enumerate(self._ids.tolist(), start=1):
            index[given == obj] = i
        index, _ = pad_to_multiple(index, STRIDE)
        onehot = F.one_hot(index, len(self._ids) + 1).permute(
            2, 0, 1)[1:].to(frame.dtype)
        prob = soft_aggregate(onehot, 0)
        if len(self._ids):
            k16, _, f16, _, _ = self.encode_key(frame)
            self.memorise(frame, (k16, f16), prob, self._bank,
                          'permanent')
        return prob

    @torch.no_grad()
    def predict(self, inputs: Tensor,
                data_samples: List[SegDataSample]) -> List[SegDataSample]:
        """Segment one frame of one video (semi-supervised VOS).

        The first frame of a video (:meth:`begin_frame`) needs its object
        ids (``given_sem_seg``, else ``gt_sem_seg``; 0 background, 255
        void); it is the output and the permanent memory. Later frames are
        read from the memory (top-k ``test_cfg.topk``); frame ``t`` (counted
        from the first) is stored as working memory when ``t % mem_every ==
        0``, else as the temporary entry (``include_last``); at most
        ``max_frames`` working entries are kept. A mask given at a later
        frame is that frame's output and joins the permanent memory (new
        objects get zero values in older entries).

        Args:
            inputs (Tensor): (1, T, 3, H, W) or (1, 3, H, W); the last frame
                is segmented.
            data_samples (list[SegDataSample]): Its sample (``video_id``,
                ``frame_id``, ``ori_shape``).

        Returns:
            list[SegDataSample]: With ``pred_sem_seg`` (object ids) and
            ``seg_logits`` (O + 1 aggregated probabilities) at
            ``ori_shape``.
        """
        frame, sample, new_video, given = self.start_step(
            inputs, data_samples)
        if new_video:
            self._bank = self.new_memory()
            self._ids = torch.zeros(0, dtype=torch.long, device=frame.device)
        hw = tuple(frame.shape[-2:])
        padded, pad = pad_to_multiple(frame, STRIDE)
        cfg = self.test_cfg
        if given is not None:
            prob = self._given_frame(padded, given.to(frame.device).long(),
                                     hw)
        elif len(self._ids) == 0:
            prob = padded.new_ones(1, *padded.shape[-2:])
        else:
            prob, feats = self.segment_frame(padded, self._bank,
                                             len(self._ids))
            kind = 'working' if self._count % cfg['mem_every'] == 0 else (
                'temporary' if cfg['include_last'] else None)
            if kind is not None:
                self.memorise(padded, feats, prob, self._bank, kind)
        self._count += 1
        prob = unpad(prob, pad)
        ori = tuple(sample.metainfo.get('ori_shape', hw))[:2]
        if tuple(prob.shape[-2:]) != ori:
            prob = F.interpolate(prob[None], size=ori, mode='bilinear',
                                 align_corners=False)[0]
        if given is not None and tuple(given.shape) == ori:
            pred = given.to(frame.device).long()
        else:
            labels = torch.cat([self._ids.new_zeros(1), self._ids])
            pred = labels[prob.argmax(0)]
        sample.set_data(dict(pred_sem_seg=PixelData(data=pred[None]),
                             seg_logits=PixelData(data=prob)))
        return [sample]
