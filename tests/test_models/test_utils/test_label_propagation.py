import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mmvidseg.models.utils import (LabelPropagationState, labels_to_mask,
                                   minmax_normalize, propagate_step,
                                   propagate_video, radius_mask,
                                   upsample_labels)
from mmvidseg.utils.benchmark import PeakRSS
from mmvidseg.utils.benchmark_references import propagate_videowalk
from mmvidseg.utils.read_benchmark import benchmark_propagation

T, C, H, W, L, K = 8, 5, 6, 7, 3, 3


def _minmax(y):
    lo = y.min(0, keepdim=True).values
    return (y - lo) / (y - lo).max(0, keepdim=True).values


def _reference(feats, y0, queue_len, temperature, topk, radius,
               norm_mask=False):
    """The protocol written out: loops over targets, context frames,
    query and key positions; sorted top-k, softmax, weighted label sum."""
    num, _, h, w = feats.shape
    hw = h * w
    f = [(x / x.norm(dim=0, keepdim=True)).reshape(-1, hw) for x in feats]
    pos = [(i // w, i % w) for i in range(hw)]
    keep = [[
        math.sqrt((pos[p][0] - pos[q][0])**2 +
                  (pos[p][1] - pos[q][1])**2) < radius for p in range(hw)
    ] for q in range(hw)]
    fed_back = [y0.reshape(-1, hw)]  # frame s -> labels used as context
    long_labels = _minmax(fed_back[0]) if norm_mask else fed_back[0]
    outs = [long_labels.reshape(y0.shape)]
    for t in range(1, num):
        ctx = [(0, long_labels, False)] + [(max(s, 0), fed_back[max(s, 0)],
                                            True)
                                           for s in range(t - queue_len, t)]
        cos = [(f[s].t() @ f[t]).tolist() for s, _, _ in ctx]  # [p][q]
        pred = torch.zeros_like(fed_back[0])
        for q in range(hw):
            scores, labels = [], []
            for (_, ys, short), a in zip(ctx, cos):
                for p in range(hw):
                    masked = short and not keep[q][p]
                    scores.append((a[p][q] + (-1e10 if masked else 0)) /
                                  temperature)
                    labels.append(ys[:, p])
            best = sorted(range(len(scores)), key=lambda i: -scores[i])
            best = best[:topk]
            weights = torch.tensor([scores[i] for i in best],
                                   dtype=feats.dtype).softmax(0)
            pred[:, q] = (weights[:, None] *
                          torch.stack([labels[i] for i in best])).sum(0)
        fed_back.append(pred)
        outs.append((_minmax(pred) if norm_mask else pred).reshape(y0.shape))
    return outs


def _data(kind='soft', dtype=torch.float64, seed=0, num=T, hw=(H, W)):
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(num, C, *hw, generator=g, dtype=dtype)
    if kind == 'soft':
        y0 = torch.randn(K, *hw, generator=g, dtype=dtype).softmax(0)
    else:  # one-hot over objects 0 and 1
        ids = torch.randint(0, 2, hw, generator=g)
        y0 = F.one_hot(ids, K).permute(2, 0, 1).to(dtype)
    y0[2] = 0  # object 2 is missing in frame 0
    return feats, y0


@pytest.mark.parametrize('topk', [1, 5, (L + 1) * H * W])
@pytest.mark.parametrize('radius', [1, 2.5, 4, 100])
def test_matches_reference(radius, topk):
    feats, y0 = _data('soft' if topk != 5 else 'onehot')
    ref = _reference(feats, y0, L, 0.05, topk, radius)
    out = list(
        propagate_video(feats, y0, queue_len=L, temperature=0.05, topk=topk,
                        radius=radius, chunk_size=5))
    assert len(out) == T
    for o, r in zip(out, ref):
        assert o.shape == (K, H, W)
        assert torch.allclose(o, r, atol=1e-10, rtol=0)
        assert torch.all(o[2] == 0)  # the missing object stays absent


def test_matches_reference_norm_mask_and_float32():
    feats, y0 = _data('onehot')
    ref = _reference(feats, y0, L, 0.1, 5, 2.5, norm_mask=True)
    out = list(
        propagate_video(feats, y0, queue_len=L, temperature=0.1, topk=5,
                        radius=2.5, norm_mask=True, chunk_size=4))
    for o, r in zip(out, ref):
        assert torch.allclose(o, r, atol=1e-10, rtol=0)
    out32 = list(
        propagate_video(feats.float(), y0.float(), queue_len=L,
                        temperature=0.1, topk=5, radius=2.5, norm_mask=True))
    for o, r in zip(out32, ref):
        assert o.dtype == torch.float32
        assert torch.allclose(o.double(), r, atol=1e-5)


def test_norm_mask_only_on_output():
    """Fed-back labels stay raw; frame 0's long-term labels are normalised
    (the original's in-place side effect)."""
    feats, y0 = _data('onehot', seed=1)
    raw = list(propagate_video(feats, y0, queue_len=2, radius=3))
    normed = list(
        propagate_video(feats, y0, queue_len=2, radius=3, norm_mask=True))
    for r, n in zip(raw, normed):
        assert torch.allclose(n, minmax_normalize(r), atol=1e-12)
    _, soft = _data('soft', seed=1)
    state = LabelPropagationState(queue_len=2, norm_mask=True)
    assert torch.allclose(state.reset(feats[0], soft), _minmax(soft))
    assert torch.allclose(state._long[1].permute(2, 0, 1), _minmax(soft))
    assert torch.equal(state._labels[0].permute(2, 0, 1), soft)


def test_streaming_equals_whole_video():
    feats, y0 = _data('soft', dtype=torch.float32, num=12, hw=(9, 11))
    kwargs = dict(queue_len=4, topk=6, radius=3, chunk_size=20,
                  norm_mask=True)
    whole = list(propagate_video(feats, y0, **kwargs))
    lazy = list(propagate_video((f for f in feats), y0, **kwargs))
    state = LabelPropagationState(**kwargs)
    stream = [state.reset(feats[0], y0)]
    stream += [state.step(f) for f in feats[1:]]
    assert len(whole) == len(stream) == len(lazy) == 12
    for a, b, c in zip(whole, stream, lazy):
        assert torch.equal(a, b) and torch.equal(a, c)
    # the original formulation computes the same maths
    dense = propagate_videowalk(feats, y0, 4, 0.05, 6, 3)
    plain = list(propagate_video(feats, y0, queue_len=4, topk=6, radius=3))
    assert torch.allclose(torch.stack(plain), dense, atol=1e-5)


@pytest.mark.parametrize('num_long', [0, 1, 2])
@pytest.mark.parametrize('radius', [1, 3.5, 30])
def test_chunked_equals_unchunked(radius, num_long):
    g = torch.Generator().manual_seed(3)
    h, w = 13, 17
    q = F.normalize(torch.randn(8, h, w, generator=g), dim=0)
    ctx = F.normalize(torch.randn(4, 8, h, w, generator=g), dim=1)
    labels = torch.rand(4, K, h, w, generator=g)
    full = propagate_step(q, ctx, labels, num_long, 0.07, 7, radius, None)
    for chunk in (1, 3, 16, 50, 100, h * w):
        out = propagate_step(q, list(ctx), list(labels), num_long, 0.07, 7,
                             radius, chunk)
        assert torch.allclose(out, full, atol=1e-6), chunk


def test_radius_mask():
    h, w, r = 4, 5, 2.2
    mask = radius_mask(h, w, r)
    assert mask.shape == (h * w, h * w)
    for i in range(h * w):
        for j in range(h * w):
            d = math.hypot(i // w - j // w, i % w - j % w)
            assert mask[i, j] == (0 if d < r else -1e10)
    assert torch.all(radius_mask(h, w, 1) == torch.where(
        torch.eye(h * w, dtype=torch.bool), 0., -1e10))


def _stream_peak(num_frames, state_checks=False):
    c, h, w, queue_len = 64, 24, 24, 3
    g = torch.Generator().manual_seed(0)
    y0 = F.one_hot(torch.randint(0, K, (h, w), generator=g), K)
    y0 = y0.permute(2, 0, 1).float()
    frame_bytes = (c + K) * h * w * 4

    def frames():
        for _ in range(num_frames):
            yield torch.randn(c, h, w, generator=g)

    state = LabelPropagationState(queue_len=queue_len, radius=4)
    with PeakRSS(interval=0.001) as rss:
        state.reset(next(frames()), y0)
        for f in frames():
            state.step(f)
            if state_checks:
                assert state.num_held_frames == queue_len + 1
                held = state.held_tensors()
                assert len(held) <= 2 * (queue_len + 1) + 1
                assert sum(t.numel() * t.element_size()
                           for t in held) <= (queue_len + 2) * frame_bytes
    return rss.peak_mib


def test_memory_bounded():
    _stream_peak(30, state_checks=True)  # warm-up, and the held frames
    peak30 = _stream_peak(30)
    peak300 = _stream_peak(300)
    if peak30 is None:
        pytest.skip('no /proc/self/statm')
    # keeping every frame would add 300 x 150 kB = 44 MiB
    assert peak300 <= peak30 + 8, (peak30, peak300)


def test_size_errors():
    feats, y0 = _data('soft', dtype=torch.float32)
    with pytest.raises(ValueError, match='feature size'):
        list(propagate_video(feats, y0[:, :-1]))
    with pytest.raises(ValueError, match='feature size'):
        propagate_video(feats, y0[:, :, :-1])  # checked before iterating
    state = LabelPropagationState()
    with pytest.raises(RuntimeError, match='reset'):
        state.step(feats[1])
    with pytest.raises(ValueError, match='feature size'):
        state.reset(feats[0], y0[:, :-1])
    state.reset(feats[0], y0)
    with pytest.raises(ValueError, match='frame 0 feature shape'):
        state.step(feats[1, :, :-1])
    with pytest.raises(ValueError, match='frame 0 feature shape'):
        state.step(feats[1, :-1])
    with pytest.raises(ValueError, match=r'\(C, h, w\)'):
        state.step(feats[1:3])
    q, ctx, lab = feats[0], feats[1:4], y0.expand(3, -1, -1, -1)
    with pytest.raises(ValueError, match='query feature shape'):
        propagate_step(q[:, 1:], ctx, lab)
    with pytest.raises(ValueError, match='feature size'):
        propagate_step(q, ctx, lab[..., 1:])
    with pytest.raises(ValueError, match='label channels'):
        propagate_step(q, ctx, [lab[0], lab[1], lab[2, :2]])
    with pytest.raises(ValueError, match='need as many'):
        propagate_step(q, ctx, lab[:2])
    with pytest.raises(ValueError, match='num_long'):
        propagate_step(q, ctx, lab, num_long=4)
    with pytest.raises(ValueError, match='radius'):
        propagate_step(q, ctx, lab, num_long=0, radius=0)
    with pytest.raises(ValueError):
        LabelPropagationState(topk=0)
    with pytest.raises(ValueError):
        LabelPropagationState(queue_len=-1)
    with pytest.raises(ValueError, match='no frames'):
        list(propagate_video(iter([]), y0))


def test_upsample_matches_cv2_resize():
    cv2 = pytest.importorskip('cv2')
    g = torch.Generator().manual_seed(5)
    soft = torch.rand(K, H, W, generator=g)
    size = (45, 61)
    ours = upsample_labels(soft, size)
    ref = cv2.resize(soft.permute(1, 2, 0).numpy(), size[::-1])
    assert torch.allclose(ours, torch.from_numpy(ref).permute(2, 0, 1),
                          atol=1e-5)
    mask = labels_to_mask(soft, size).numpy()
    top2 = np.sort(ref, -1)[..., -2:]
    clear = top2[..., 1] - top2[..., 0] > 1e-4
    assert mask.shape == size
    assert (mask == ref.argmax(-1))[clear].all()
    assert torch.equal(labels_to_mask(soft), soft.argmax(0))


def test_benchmark_runs():
    for impl in ('streaming', 'original'):
        res = benchmark_propagation(4, (6, 7), 8, 2, queue_len=2, topk=3,
                                    radius=2, implementation=impl)
        assert res['sec_per_frame'] > 0 and res['implementation'] == impl
    with pytest.raises(ValueError):
        benchmark_propagation(4, (6, 7), 8, 2, implementation='other')
