import math

import pytest
import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from mmvidseg.models.utils import MemoryBank, radius_mask

KINDS = ['dot', 'scaled_dot', 'cosine', 'neg_l2']


def _affinity(q, k, kind, temperature):
    """Direct formula: q (B, M, C), k (B, N, C) -> (B, M, N) logits."""
    c = q.size(-1)
    if kind == 'dot':
        a = q @ k.transpose(1, 2)
    elif kind == 'scaled_dot':
        a = q @ k.transpose(1, 2) / math.sqrt(c)
    elif kind == 'cosine':
        a = F.normalize(q, dim=-1) @ F.normalize(k, dim=-1).transpose(1, 2)
    else:  # the full negative squared distance
        a = -((q[:, :, None] - k[:, None])**2).sum(-1) / math.sqrt(c)
    return a / temperature


def _reference(query, entries, kind, temperature, topk):
    """entries: (key (B, C, h, w), value (B, Cv, h, w), radius)."""
    b, c, h, w = query.shape
    q = query.flatten(2).transpose(1, 2)
    logits, values = [], []
    for key, value, radius in entries:
        a = _affinity(q, key.flatten(2).transpose(1, 2), kind, temperature)
        if radius is not None:
            a = a.masked_fill(radius_mask(h, w, radius).bool(),
                              float('-inf'))
        logits.append(a)
        values.append(value.flatten(2).transpose(1, 2))
    a, v = torch.cat(logits, -1), torch.cat(values, 1)
    if topk is not None:
        thr = a.topk(topk, -1).values[..., -1:]
        a = a.masked_fill(a < thr, float('-inf'))
    return (a.softmax(-1) @ v).transpose(1, 2).reshape(b, -1, h, w)


def _maps(g, b, c, h=5, w=6):
    return torch.randn(b, c, h, w, generator=g, dtype=torch.float64)


@pytest.mark.parametrize('kind', KINDS)
@pytest.mark.parametrize('topk', [None, 7])
@pytest.mark.parametrize('radius', [None, 2.5])
def test_read_equals_direct_formula(kind, topk, radius):
    g = torch.Generator().manual_seed(0)
    bank = MemoryBank(affinity=kind, temperature=0.3, topk=topk,
                      chunk_size=7, use_temporary=True)
    entries = []
    for i, kindname in enumerate(['permanent', 'working', 'working',
                                  'temporary', 'temporary']):
        key, value = _maps(g, 2, 4), _maps(g, 2, 3)
        r = radius if kindname == 'working' else None
        bank.write(key, value, kindname, radius=r)
        entries.append((key, value, r))
    del entries[3]  # replaced by the second temporary entry
    assert [e.kind for e in bank.entries] == [
        'permanent', 'working', 'working', 'temporary']
    query = _maps(g, 2, 4)
    ref = _reference(query, entries, kind, 0.3, topk)
    out = bank.read(query)
    assert out.shape == (2, 3, 5, 6)
    assert torch.allclose(out, ref, atol=1e-10)
    # token form (no grid) reads the same without radius entries
    if radius is None:
        tokens = bank.read(query.flatten(2))
        assert torch.allclose(tokens, ref.flatten(2), atol=1e-10)


def test_multi_scale_entries():
    g = torch.Generator().manual_seed(1)
    bank = MemoryBank(affinity='scaled_dot')
    keys = [_maps(g, 1, 4), _maps(g, 1, 4, 3, 3)]
    values = [_maps(g, 1, 2), _maps(g, 1, 5, 3, 3)]
    bank.write(keys, values, 'permanent')
    for scale in (0, 1):
        q = _maps(g, 1, 4, *keys[scale].shape[-2:])
        ref = _reference(q, [(keys[scale], values[scale], None)],
                         'scaled_dot', 1.0, None)
        assert torch.allclose(bank.read(q, scale=scale), ref, atol=1e-10)


@pytest.mark.parametrize('prune', ['fifo', 'usage'])
def test_budget_over_a_long_stream_and_permanent_entries(prune):
    g = torch.Generator().manual_seed(2)
    bank = MemoryBank(affinity='neg_l2', topk=4, mem_every=3,
                      use_temporary=True, max_frames=6, max_tokens=5 * 16,
                      prune=prune)
    first = torch.randn(1, 8, 4, 4, generator=g)
    bank.write(first, torch.randn(1, 2, 4, 4, generator=g), 'permanent',
               frame=0)
    for t in range(1, 2000):
        key = torch.randn(1, 8, 4, 4, generator=g)
        bank.read(key)
        bank.step(key, torch.randn(1, 2, 4, 4, generator=g), frame=t)
        kinds = [e.kind for e in bank.entries]
        # tokens budget (5 frames of 16) is tighter than the frame budget
        assert kinds.count('working') <= 5
        assert bank.num_tokens('working') <= 80
        assert kinds.count('temporary') <= 1
        assert kinds[0] == 'permanent' and bank.entries[0].frame == 0
    assert len(bank.working) == 5
    if prune == 'fifo':  # the newest working frames, every third
        assert [e.frame for e in bank.working] == list(
            range(1987, 2000, 3))


def test_usage_pruning_drops_the_least_used():
    bank = MemoryBank(affinity='dot', max_frames=2, prune='usage')
    eye = torch.eye(3)[:, :, None]  # three orthogonal 1-token keys
    for i in range(2):
        bank.write(10 * eye[i][None], torch.full((1, 1, 1), float(i)),
                   frame=i)
    for _ in range(3):  # queries only ever match frame 0
        bank.read(10 * eye[0][None])
    bank.write(10 * eye[2][None], torch.full((1, 1, 1), 2.), frame=2)
    assert [e.frame for e in bank.working] == [0, 2]
    fifo = MemoryBank(affinity='dot', max_frames=2, prune='fifo')
    for i in range(3):
        fifo.write(eye[i][None], torch.zeros(1, 1, 1), frame=i)
    assert [e.frame for e in fifo.working] == [1, 2]


def _largest_block(fn):
    """Largest single allocation of the ops that build (query x key) blocks
    (bytes), measured with the profiler."""
    copies = {'aten::cat', 'aten::contiguous', 'aten::clone', 'aten::empty',
              'aten::empty_like', 'aten::new_empty', 'aten::to',
              'aten::_to_copy', 'aten::copy_', 'aten::movedim',
              'aten::empty_strided'}
    with profile(activities=[ProfilerActivity.CPU],
                 profile_memory=True) as prof:
        fn()
    return max(e.cpu_memory_usage for e in prof.events()
               if e.name not in copies)


@pytest.mark.parametrize('topk', [None, 8])
def test_chunked_read_stays_within_its_budget(topk):
    g = torch.Generator().manual_seed(3)
    budget = 4096  # elements
    bank = MemoryBank(affinity='scaled_dot', topk=topk, max_block=budget,
                      chunk_size=None, prune='usage')
    for _ in range(10):
        bank.write(torch.randn(1, 16, 10, 20, generator=g),
                   torch.randn(1, 4, 10, 20, generator=g))
    q = torch.randn(1, 16, 25, 20, generator=g)  # 500 x 2000 logits

    def largest():  # allocated by an op, or a reused workspace buffer
        bank.reset_workspace()
        op = _largest_block(lambda: bank.read(q))
        return max([op] + [t.numel() * t.element_size()
                           for t in bank.workspace_tensors()])

    chunked = bank.read(q)
    assert largest() <= budget * 4
    bank.max_block = 2**30
    assert torch.allclose(bank.read(q), chunked, atol=1e-6)
    assert largest() >= 500 * 2000 * 4


@pytest.mark.parametrize(
    'device', ['cpu'] + (['cuda'] if torch.cuda.is_available() else []))
def test_offloaded_reads_equal_on_device_reads(device):
    g = torch.Generator().manual_seed(4)
    kwargs = dict(affinity='neg_l2', topk=5, prune='usage', max_frames=3)
    on_device = MemoryBank(**kwargs)
    offloaded = MemoryBank(storage_device='cpu', **kwargs)
    for t in range(6):
        key = torch.randn(1, 8, 6, 7, generator=g).to(device)
        value = torch.randn(1, 3, 6, 7, generator=g).to(device)
        a, b = on_device.read(key) if t else None, \
            offloaded.read(key) if t else None
        if t:
            assert b.device == key.device
            assert torch.allclose(a, b, atol=1e-6)
        on_device.write(key, value, frame=t)
        offloaded.write(key, value, frame=t)
    assert all(k.device.type == 'cpu' for e in offloaded.entries
               for k in e.keys)
    assert [e.frame for e in on_device.working] == \
        [e.frame for e in offloaded.working]
    moved = on_device.to('cpu')
    assert moved is on_device and all(
        v.device.type == 'cpu' for e in on_device.entries for v in e.values)


def test_pad_values_and_repeat_share_tensors():
    bank = MemoryBank(affinity='dot', max_frames=3, prune='fifo')
    bank.write(torch.ones(1, 2, 2, 2), torch.ones(1, 1, 2, 2), repeat=3)
    assert bank.num_frames == 3 and len(bank.held_tensors()) == 2
    bank.pad_values(2)
    assert len(bank.held_tensors()) == 2
    out = bank.read(torch.ones(1, 2, 2, 2))
    assert out.shape == (1, 3, 2, 2)
    assert torch.allclose(out[:, 0], torch.ones(1, 2, 2))
    assert torch.all(out[:, 1:] == 0)
    bank.reset()
    assert bank.num_frames == 0


def test_errors():
    with pytest.raises(ValueError, match='unknown affinity'):
        MemoryBank(affinity='euclid')
    with pytest.raises(ValueError, match='prune'):
        MemoryBank(prune='lru')
    bank = MemoryBank()
    with pytest.raises(RuntimeError, match='empty'):
        bank.read(torch.zeros(1, 2, 3, 3))
    with pytest.raises(ValueError, match='kind'):
        bank.write(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3), kind='long')
    with pytest.raises(ValueError, match='disagree'):
        bank.write(torch.zeros(1, 2, 3), torch.zeros(1, 2, 4))
    bank.write(torch.zeros(1, 2, 3, 3), torch.zeros(1, 1, 3, 3), radius=2)
    with pytest.raises(ValueError, match='different size'):
        bank.write(torch.zeros(1, 2, 4, 4), torch.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match='grid'):
        bank.read(torch.zeros(1, 2, 4, 4))


def _sali_stream(T=23, sizes=((8, 8), (4, 4), (2, 2)), seed=0):
    g = torch.Generator().manual_seed(seed)
    frames = []
    for _ in range(T):
        k = [torch.randn(1, 4, h, w, generator=g) for h, w in sizes]
        v = [torch.randn(1, 16, h, w, generator=g) for h, w in sizes]
        m = [torch.randn(1, 1, h, w, generator=g) * 3 for h, w in sizes]
        frames.append((k, v, m))
    return frames


# SALI's own MemoryBank (Scatteredrain/SALI c760e64, lib/long_term.py, loaded
# alone outside this repository) on the stream above with test_mem_length=3,
# top_k=20: frame 0 reads itself (keyM_outer) then is added, frames t % 5 == 0
# read then are added, the others only read. Per frame, the sums of the three
# readouts [R_s; V_q,s] (rounded to 4 decimals), the stored sizes per scale
# after the frame, and the final usage sums (script /tmp/golden_bank/run.py).
SALI_SUMS = [[59.807, 15.4938, -11.9322], [-18.4875, 18.8714, -19.1166],
             [-15.8208, 9.3098, -28.1335], [43.9051, -22.0478, 4.1619],
             [19.1966, -15.9761, -17.0619], [74.8819, 12.7509, 7.31],
             [-10.3571, 18.3966, 14.0168], [39.0253, 9.1708, 18.3454],
             [41.1107, 6.6201, 11.8289], [1.4874, -3.1253, 6.0983],
             [31.444, -16.4008, 4.6895], [-9.775, 14.5005, 4.9372],
             [34.0343, -17.3955, 7.5526], [-14.0409, -15.5181, 19.2477],
             [-5.2833, -27.7568, -6.7847], [9.539, 11.5637, 2.917],
             [-70.2097, -11.815, 0.2768], [45.107, -9.4034, -3.2483],
             [0.3999, -10.4058, -4.3256], [36.6846, -22.6329, 7.129],
             [47.9796, -4.6369, -8.4993], [-28.9121, -27.5272, -5.8512],
             [-2.7228, -10.9459, 8.8379]]
SALI_SIZES = [[64, 16, 4]] * 5 + [[128, 32, 8]] * 5 + [[192, 48, 12]] * 13
SALI_USAGE = [1408.0, 352.0, 88.0]


def test_token_usage_pruning_reproduces_sali():
    from mmvidseg.models.utils import memory_read
    bank = MemoryBank('neg_l2', topk=20, max_frames=3, prune='usage_tokens')
    for t, (k, v, m) in enumerate(_sali_stream()):
        if t == 0:
            reads = [memory_read(q.flatten(2).mT, q.flatten(2).mT,
                                 x.flatten(2).mT, 'neg_l2', topk=20).mT
                     for q, x in zip(k, v)]
            reads = [r.view_as(x) for r, x in zip(reads, v)]
        else:
            reads = [bank.read(q, s) for s, q in enumerate(k)]
        sums = [float(torch.cat([r, x], 1).double().sum())
                for r, x in zip(reads, v)]
        assert sums == pytest.approx(SALI_SUMS[t], abs=2e-3), t
        if t % 5 == 0:
            weighted = [x.flatten(2) * (w.flatten(2).softmax(-1) + 1)
                        for x, w in zip(v, m)]
            bank.write([q.flatten(2) for q in k], weighted)
        sizes = [sum(e.keys[s].size(1) for e in bank.entries)
                 for s in range(3)]
        assert sizes == SALI_SIZES[t], t
    usage = [sum(float(e.token_usage[s].sum()) for e in bank.entries)
             for s in range(3)]
    assert usage == pytest.approx(SALI_USAGE, abs=1e-2)
    bank.reset()
    assert bank.num_frames == 0 and bank._frame_tokens is None


def test_token_usage_pruning_budget_on_a_long_stream():
    """500 frames, a write every 5: never more than max_frames frames of
    tokens per scale, and nothing left after a reset."""
    g = torch.Generator().manual_seed(3)
    bank = MemoryBank('neg_l2', topk=4, max_frames=5, prune='usage_tokens')
    most = [0, 0]
    for t in range(500):
        k = [torch.randn(1, 4, 6, 6, generator=g),
             torch.randn(1, 4, 3, 3, generator=g)]
        v = [torch.randn(1, 2, 6, 6, generator=g),
             torch.randn(1, 2, 3, 3, generator=g)]
        if bank.num_frames:
            for s in range(2):
                bank.read(k[s], s)
        if t % 5 == 0:
            bank.write(k, v)
        for s, per in enumerate((36, 9)):
            n = sum(e.keys[s].size(1) for e in bank.entries)
            assert n <= 5 * per
            most[s] = max(most[s], n)
    assert most == [5 * 36, 5 * 9]
    with pytest.raises(ValueError, match='one video'):
        two = MemoryBank('neg_l2', max_frames=1, prune='usage_tokens')
        for _ in range(3):
            two.write(torch.randn(2, 4, 2, 2), torch.randn(2, 2, 2, 2))
    with pytest.raises(ValueError, match='budgets in max_frames'):
        MemoryBank(prune='usage_tokens', max_tokens=10)
