"""The benchmark's reference implementations compute the library's maths."""
import pytest
import torch
import torch.nn.functional as F

from mmvidseg.models.utils import (LabelPropagationState, memory_read,
                                   radius_mask, sdpa)
from mmvidseg.utils import benchmark_references as refs
from mmvidseg.utils.benchmark_references import (plain_memory_read,
                                                 propagate_videowalk,
                                                 videowalk_context_index,
                                                 videowalk_radius_mask)


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


def _streamed(feats, y0, **kwargs):
    state = LabelPropagationState(chunk_size=4, **kwargs)
    return torch.stack([state.reset(feats[0], y0)] +
                       [state.step(f) for f in feats[1:]])


def test_context_index_and_radius_mask_as_the_original():
    # padded video: 2 copies of frame 0, then frames 0.. at index t + 2
    assert videowalk_context_index(4, 2).tolist() == [[0, 0, 1], [0, 1, 2],
                                                      [0, 2, 3], [0, 3, 4]]
    assert videowalk_context_index(2, 0).tolist() == [[0], [0]]
    assert torch.equal(videowalk_radius_mask(5, 6, 2.5),
                       radius_mask(5, 6, 2.5))


@pytest.mark.parametrize('labels,norm_mask,queue_len,topk,radius', [
    ('soft', False, 3, 5, 2.5),
    ('onehot', True, 2, 4, 1.5),
    ('soft', False, 0, 3, 2),
    ('soft', False, 4, 500, 100),  # every context position kept
])
def test_videowalk_formulation_equals_the_streaming_state(
        monkeypatch, labels, norm_mask, queue_len, topk, radius):
    g = torch.Generator().manual_seed(1)
    num, chans, h, w = 7, 6, 5, 6
    feats = torch.randn(num, chans, h, w, generator=g, dtype=torch.float64)
    if labels == 'soft':
        y0 = torch.randn(3, h, w, generator=g, dtype=torch.float64)
        y0 = y0.softmax(0)
    else:
        y0 = F.one_hot(torch.randint(0, 3, (h, w), generator=g), 3)
        y0 = y0.permute(2, 0, 1).double()
    built = []

    def spy(*args):
        out = keys_of(*args)
        built.append(out[0])
        return out

    keys_of = refs.videowalk_keys
    monkeypatch.setattr(refs, 'videowalk_keys', spy)
    kwargs = dict(queue_len=queue_len, temperature=0.1, topk=topk,
                  radius=radius, norm_mask=norm_mask)
    ref = propagate_videowalk(feats, y0, query_chunk=7, **kwargs)
    assert ref.shape == (num, 3, h, w)
    assert torch.allclose(ref, _streamed(feats, y0, **kwargs), atol=1e-12,
                          rtol=0)
    assert torch.allclose(
        propagate_videowalk(feats.float(), y0.float(), **kwargs).double(),
        ref, atol=1e-5)
    # the original's key tensor: every target's L + 1 context frames,
    # gathered into one new (1, C, T, L + 1, hw) tensor
    keys = built[0]
    assert keys.shape == (1, chans, num, queue_len + 1, h * w)
    assert keys.untyped_storage().nbytes() == \
        keys.numel() * keys.element_size()
    normed = F.normalize(feats, dim=1).flatten(2)
    assert torch.allclose(keys[0, :, 3, 0], normed[0])  # long term
    if queue_len:
        assert torch.allclose(keys[0, :, 3, -1], normed[2])  # frame t - 1


def test_all_equal_classes_nan_in_the_original_zero_here():
    g = torch.Generator().manual_seed(2)
    feats = torch.randn(3, 4, 3, 4, generator=g)
    y0 = torch.full((2, 3, 4), 0.5)  # every pixel: both classes equal
    kwargs = dict(queue_len=1, temperature=0.1, topk=3, radius=2,
                  norm_mask=True)
    assert torch.isnan(propagate_videowalk(feats, y0, **kwargs)).all()
    assert torch.equal(_streamed(feats, y0, **kwargs),
                       torch.zeros(3, 2, 3, 4))
