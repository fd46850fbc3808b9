"""A propagator with trivial features for tests of volume inference.

It runs STCN's own range loop (:meth:`STCNInferenceMixin.propagate_range`:
the reference as permanent memory, the visiting order, working memory every
``mem_every`` slices, the temporary last slice, the flush after the range)
with hand-made features in place of the networks: keys are the three CT
windows average-pooled to 1/``stride`` plus the normalised coordinates,
values the class shares of the accumulated probabilities pooled the same way;
reads go through our :class:`MemoryBank` (negative squared L2, top-k) and
are upsampled back. No learning at all: it shows the
bookkeeping of the two-stage inference on real anatomy.
"""
import torch
import torch.nn.functional as F

from mmvidseg.models.segmentors.stcn_inference import STCNInferenceMixin
from mmvidseg.models.utils import MemoryBank


class TrivialPropagator(STCNInferenceMixin):
    """STCN's ``propagate_range`` on pooled intensities and coordinates.

    Args:
        stride (int): Pooling of keys and values.
        coord_weight (float): Weight of the coordinates in the keys.
        temperature (float): Of the memory read.
        topk (int): Keys kept per query.
    """

    data_preprocessor = None
    _device = torch.device('cpu')

    def __init__(self, stride=4, coord_weight=2.0, temperature=0.05,
                 topk=20):
        self.stride = stride
        self.coord_weight = coord_weight
        self.temperature = temperature
        self.topk = topk
        self.calls = []
        self.max_entries = 0
        self.banks = []

    def propagate_range(self, frames, start, end, ref_mask, acc, **kwargs):
        self.calls.append((start, end))
        super().propagate_range(frames, start, end, ref_mask, acc, **kwargs)

    def new_memory(self, storage_device=None, max_frames=None):
        bank = MemoryBank(affinity='neg_l2', temperature=self.temperature,
                          topk=self.topk, max_frames=max_frames,
                          prune='fifo', storage_device=storage_device)
        self.banks.append(bank)
        return bank

    def encode_key(self, frame):
        """(key, -, frame, -, -) in the places of (k16, thin, f16, f8,
        f4)."""
        x = F.avg_pool2d(frame.float(), self.stride)
        h, w = x.shape[-2:]
        ys = torch.linspace(0, 1, h).view(1, 1, h, 1).expand(1, 1, h, w)
        xs = torch.linspace(0, 1, w).view(1, 1, 1, w).expand(1, 1, h, w)
        key = torch.cat([x, self.coord_weight * ys, self.coord_weight * xs],
                        1)
        return key, None, frame, None, None

    def segment_frame(self, frame, bank, num_objects):
        key, _, f16, _, _ = self.encode_key(frame)
        read = F.interpolate(bank.read(key), size=frame.shape[-2:],
                             mode='bilinear', align_corners=False)[0]
        prob = read.clamp_min(0)
        prob = prob / prob.sum(0, keepdim=True).clamp_min(1e-7)
        self.max_entries = max(self.max_entries, bank.num_frames)
        return prob, (key, f16)

    def memorise(self, frame, feats, prob, bank, kind):
        """Values: the class shares of the accumulated probabilities (two
        passes add up), pooled."""
        key, _ = feats
        prob = prob / prob.sum(0, keepdim=True).clamp_min(1e-7)
        if kind != 'temporary':
            bank.drop_temporary()
        bank.write(key, F.avg_pool2d(prob[None], self.stride), kind)
        self.max_entries = max(self.max_entries, bank.num_frames)
