"""A propagator with trivial features for tests of volume inference.

It implements ``propagate_range`` as the STCN contract describes it (see
``/tmp/prompts/contract_stcn.md`` and ivos ``inference_core_efficient.py``)
on hand-made features: keys are the three CT windows average-pooled to 1/4
plus the normalised coordinates, values the class probabilities pooled to
1/4; reads go through our :class:`MemoryBank` (negative squared L2, top-k)
and are upsampled back. No learning at all: it shows the bookkeeping of the
two-stage inference (ranges, memory, accumulation) on real anatomy.
"""
import torch
import torch.nn.functional as F

from mmvidseg.apis.volume_references import visited_slices
from mmvidseg.models.utils import MemoryBank


class TrivialPropagator:
    """``propagate_range`` on pooled intensities and coordinates.

    Args:
        stride (int): Pooling of keys and values.
        coord_weight (float): Weight of the coordinates in the keys.
        temperature (float): Of the memory read.
        topk (int): Keys kept per query.
    """

    data_preprocessor = None

    def __init__(self, stride=4, coord_weight=2.0, temperature=0.05,
                 topk=20):
        self.stride = stride
        self.coord_weight = coord_weight
        self.temperature = temperature
        self.topk = topk
        self.calls = []
        self.max_entries = 0
        self.banks = []

    def _key(self, frame):
        x = F.avg_pool2d(frame[None].float(), self.stride)
        h, w = x.shape[-2:]
        ys = torch.linspace(0, 1, h).view(1, 1, h, 1).expand(1, 1, h, w)
        xs = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(1, 1, h, w)
        return torch.cat([x, self.coord_weight * ys,
                          self.coord_weight * xs], 1)

    def _value(self, prob):
        prob = prob.float()
        prob = prob / prob.sum(0, keepdim=True).clamp_min(1e-7)
        return F.avg_pool2d(prob[None], self.stride)

    @torch.no_grad()
    def propagate_range(self, frames, start, end, ref_mask, acc, *,
                        num_objects, mem_every=5, include_last=True,
                        storage_device=None, max_frames=None):
        self.calls.append((start, end))
        k = num_objects + 1
        bank = MemoryBank(affinity='neg_l2', temperature=self.temperature,
                          topk=self.topk, max_frames=max_frames,
                          prune='fifo', storage_device=storage_device)
        self.banks.append(bank)
        one_hot = F.one_hot(ref_mask.long(), k).permute(2, 0, 1).float()
        acc[:, start] += one_hot.to(acc.dtype)
        bank.write(self._key(frames[start]), self._value(acc[:, start]),
                   'permanent', frame=start)
        last = end - 1 if start < end else end + 1  # the original's `end`
        hw = frames.shape[-2:]
        for t in visited_slices(start, end):
            read = bank.read(self._key(frames[t]))
            prob = F.interpolate(read, size=hw, mode='bilinear',
                                 align_corners=False)[0]
            prob = prob / prob.sum(0, keepdim=True).clamp_min(1e-7)
            acc[:, t] += prob.to(acc.dtype)
            if t != last and (include_last or t % mem_every == 0):
                kind = 'working' if t % mem_every == 0 else 'temporary'
                if kind == 'working':  # as the original's add_memory
                    bank.entries = [e for e in bank.entries
                                    if e.kind != 'temporary']
                bank.write(self._key(frames[t]), self._value(acc[:, t]),
                           kind, frame=t)
            self.max_entries = max(self.max_entries, bank.num_frames)
        bank.reset()  # flushed after the range, as the original
