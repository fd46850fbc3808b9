import math

import pytest
import torch

from mmvidseg.models.utils import affinity_logits, memory_read


def _plain(q, k, v, kind, temp=1.0, topk=None):
    c = q.size(-1)
    if kind == 'dot':
        a = q @ k.transpose(1, 2)
    elif kind == 'scaled_dot':
        a = q @ k.transpose(1, 2) / math.sqrt(c)
    elif kind == 'cosine':
        qn = q / q.norm(dim=-1, keepdim=True)
        kn = k / k.norm(dim=-1, keepdim=True)
        a = qn @ kn.transpose(1, 2) / temp
    else:  # negative squared distance, including the -|q|^2 term
        a = -((q[:, :, None] - k[:, None]) ** 2).sum(-1) / math.sqrt(c)
    if topk is not None:
        thr = a.topk(topk, -1).values[..., -1:]
        a = a.masked_fill(a < thr, float('-inf'))
    return a.softmax(-1) @ v


@pytest.mark.parametrize('kind', ['dot', 'scaled_dot', 'cosine', 'neg_l2'])
@pytest.mark.parametrize('topk', [None, 3])
def test_read_matches_plain_formula(kind, topk):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(2, 10, 8, generator=g, dtype=torch.float64)
    k = torch.randn(2, 15, 8, generator=g, dtype=torch.float64)
    v = torch.randn(2, 15, 5, generator=g, dtype=torch.float64)
    out = memory_read(q, k, v, kind, temperature=0.1, topk=topk, chunk_size=4)
    ref = _plain(q, k, v, kind, 0.1, topk)
    assert torch.allclose(out, ref, atol=1e-8)


def test_affinity_logits_neg_l2_up_to_query_constant():
    q, k = torch.randn(1, 4, 3), torch.randn(1, 6, 3)
    a = affinity_logits(q, k, 'neg_l2')
    full = -((q[:, :, None] - k[:, None]) ** 2).sum(-1) / math.sqrt(3)
    diff = a - full
    assert torch.allclose(diff, diff[..., :1].expand_as(diff), atol=1e-5)


def test_errors():
    with pytest.raises(ValueError, match='unknown affinity'):
        memory_read(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3),
                    torch.zeros(1, 2, 3), 'euclid')
    with pytest.raises(ValueError, match='disagree'):
        memory_read(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3),
                    torch.zeros(1, 3, 3))


@pytest.mark.parametrize('kind', ['dot', 'neg_l2'])
def test_topk_read_carries_gradients(kind):
    """Training reads (SALI's memory frame) keep the top-k and pass
    gradients to queries, keys and values as the plain masked softmax."""
    g = torch.Generator().manual_seed(1)
    inputs = [torch.randn(2, 12, 4, generator=g, dtype=torch.float64)
              for _ in range(2)] + [torch.randn(2, 12, 3, generator=g,
                                                dtype=torch.float64)]
    ours = [t.clone().requires_grad_() for t in inputs]
    ref = [t.clone().requires_grad_() for t in inputs]
    # max_block forces several row chunks
    out = memory_read(*ours, kind, topk=5, max_block=50)
    expected = _plain(*ref, kind, topk=5)
    assert torch.allclose(out, expected, atol=1e-10)
    with torch.no_grad():  # the tiled path gives the same numbers
        assert torch.allclose(memory_read(*inputs, kind, topk=5), expected,
                              atol=1e-10)
    w = torch.randn(out.shape, generator=g, dtype=torch.float64)
    (out * w).sum().backward()
    (expected * w).sum().backward()
    for a, b in zip(ours, ref):
        assert a.grad is not None and a.grad.abs().sum() > 0
        assert torch.allclose(a.grad, b.grad, atol=1e-10)
