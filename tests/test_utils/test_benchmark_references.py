"""The benchmark's reference implementations compute the library's maths."""
import torch

from mmvidseg.models.utils import memory_read, propagate_video, sdpa
from mmvidseg.utils.benchmark_references import (plain_memory_read,
                                                 propagate_all_frames)


def test_plain_memory_read_equals_sdpa_and_memory_read():
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 12, 4, generator=g, dtype=torch.float64)
    k = torch.randn(2, 30, 4, generator=g, dtype=torch.float64)
    v = torch.randn(2, 30, 6, generator=g, dtype=torch.float64)
    ref = plain_memory_read(q, k, v)
    assert ref.shape == (2, 12, 6)
    assert torch.allclose(ref, sdpa(q, k, v, 1.0), atol=1e-10)
    assert torch.allclose(ref, memory_read(q, k, v, 'dot'), atol=1e-10)
    assert torch.allclose(plain_memory_read(q, k, v, 0.5),
                          memory_read(q, k, v, 'scaled_dot'), atol=1e-10)
    # the scale matters (a reference ignoring it would pass the above once)
    assert not torch.allclose(plain_memory_read(q, k, v, 0.5), ref)


def test_propagate_all_frames_equals_streaming_propagation():
    g = torch.Generator().manual_seed(1)
    feats = torch.randn(6, 5, 4, 5, generator=g)
    y0 = torch.rand(3, 4, 5, generator=g).softmax(0)
    kwargs = dict(queue_len=2, temperature=0.1, topk=4, radius=2)
    dense = propagate_all_frames(feats, y0, **kwargs)
    assert dense.shape == (6, 3, 4, 5)
    assert torch.equal(dense[0], y0)
    stream = torch.stack(list(propagate_video(feats, y0, **kwargs)))
    assert torch.allclose(dense, stream, atol=1e-5)
