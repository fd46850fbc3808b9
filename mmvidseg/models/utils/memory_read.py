"""Memory reads: one core shared by the heads, the memory bank and label
propagation.

A memory read gathers, for each query position, a weighted sum of memory
values, the weights being a softmax (optionally over the top-k only) of an
affinity between the query key and every memory key. Affinities:

* ``'dot'``: ``q . k`` (TMANet's unscaled read),
* ``'scaled_dot'``: ``q . k / sqrt(C)``,
* ``'cosine'``: ``cos(q, k)`` (label propagation, with a temperature),
* ``'neg_l2'``: ``(2 q . k - |k|^2) / sqrt(C)``, the negative squared L2
  distance up to a per-query constant (STCN, SALI, XMem).

The logits are divided by a temperature (for ``'cosine'`` in
:func:`memory_read`, for any kind in :class:`MemoryBank`). Without
top-k the read is one ``scaled_dot_product_attention`` call (the L2 form by
augmenting the vectors), so no (hw x hw) matrix is built; with top-k it runs
through the tiled core (:func:`tiled_read`), or, when gradients are needed
(SALI, STCN training), through a row-chunked differentiable top-k read.
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .tiled_read import MAX_BLOCK, KeyGroup, tiled_read

AFFINITIES = ('dot', 'scaled_dot', 'cosine', 'neg_l2')


def _check_affinity(affinity: str, temperature: float) -> None:
    if affinity not in AFFINITIES:
        raise ValueError(f'unknown affinity {affinity!r}; '
                         f'choose from {AFFINITIES}')
    if temperature <= 0:
        raise ValueError('temperature must be > 0')


def prepare_keys(key: Tensor, affinity: str) -> Tensor:
    """Keys (..., C) in the form whose dot product with
    :func:`prepare_query` gives the affinity before its scale."""
    if affinity == 'cosine':
        return F.normalize(key, dim=-1)
    if affinity == 'neg_l2':
        return torch.cat([2 * key, -key.pow(2).sum(-1, keepdim=True)], -1)
    return key


def prepare_query(query: Tensor, affinity: str) -> Tensor:
    """Queries (..., C), see :func:`prepare_keys`."""
    if affinity == 'cosine':
        return F.normalize(query, dim=-1)
    if affinity == 'neg_l2':
        return torch.cat([query, query.new_ones(query.shape[:-1] + (1, ))],
                         -1)
    return query


def affinity_scale(affinity: str, channels: int) -> float:
    """Multiplier of the prepared dot product (before the temperature)."""
    return 1.0 / math.sqrt(channels) if affinity in ('scaled_dot',
                                                     'neg_l2') else 1.0


def sdpa(query: Tensor, key: Tensor, value: Tensor, scale: float) -> Tensor:
    """``softmax(scale * q k^T) v`` with ``scaled_dot_product_attention``.

    PyTorch's fused CPU kernel (flash attention) needs equal query/key and
    value widths; on CPU the narrower side is zero-padded (zeros add nothing
    to the dot products, padded value channels are sliced off), so the fused
    kernel runs and no (Nq x Nk) matrix is stored. On CUDA the memory-efficient
    kernel takes different widths as they are.

    Args:
        query (Tensor): (B, Nq, C).
        key (Tensor): (B, Nk, C).
        value (Tensor): (B, Nk, Cv).
        scale (float): Affinity scale.

    Returns:
        Tensor: (B, Nq, Cv).
    """
    c, cv = query.size(-1), value.size(-1)
    if query.device.type == 'cpu' and c != cv:
        if c < cv:
            query = F.pad(query, (0, cv - c))
            key = F.pad(key, (0, cv - c))
        else:
            value = F.pad(value, (0, c - cv))
    out = F.scaled_dot_product_attention(
        query[:, None], key[:, None], value[:, None], scale=scale)[:, 0]
    return out[..., :cv]


def affinity_logits(query: Tensor,
                    key: Tensor,
                    affinity: str = 'dot',
                    temperature: float = 1.0) -> Tensor:
    """Affinity before the softmax.

    Args:
        query (Tensor): (B, Nq, C).
        key (Tensor): (B, Nk, C).

    Returns:
        Tensor: (B, Nq, Nk).
    """
    _check_affinity(affinity, temperature)
    scale = affinity_scale(affinity, query.size(-1))
    if affinity == 'cosine':
        scale /= temperature
    return torch.bmm(prepare_query(query, affinity),
                     prepare_keys(key, affinity).transpose(1, 2)) * scale


def memory_read(query: Tensor,
                key: Tensor,
                value: Tensor,
                affinity: str = 'dot',
                temperature: float = 1.0,
                topk: Optional[int] = None,
                chunk_size: int = 4096,
                max_block: int = MAX_BLOCK) -> Tensor:
    """Read memory values for each query (one-shot, no bank).

    Args:
        query (Tensor): Query keys (B, Nq, C).
        key (Tensor): Memory keys (B, Nk, C).
        value (Tensor): Memory values (B, Nk, Cv).
        affinity (str): One of ``AFFINITIES``.
        temperature (float): Temperature of the ``'cosine'`` affinity
            (ignored by the others, which :class:`MemoryBank` can divide).
        topk (int, optional): Keep the k largest affinities per query before
            the softmax.
        chunk_size (int): Queries per tile in the tiled path.
        max_block (int): Largest logit block of the tiled path.

    Returns:
        Tensor: (B, Nq, Cv).
    """
    if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
        raise ValueError('query, key and value must be (B, N, C)')
    if key.shape[:2] != value.shape[:2]:
        raise ValueError(f'key {tuple(key.shape)} and value '
                         f'{tuple(value.shape)} disagree')
    _check_affinity(affinity, temperature)
    scale = affinity_scale(affinity, query.size(-1))
    temperature = temperature if affinity == 'cosine' else 1.0
    q, k = prepare_query(query, affinity), prepare_keys(key, affinity)
    if topk is None or topk >= k.size(1):
        return sdpa(q, k, value, scale / temperature)
    if torch.is_grad_enabled() and any(t.requires_grad
                                       for t in (query, key, value)):
        return _topk_read_with_grad(q, k, value, scale / temperature, topk,
                                    max_block)
    return tiled_read(q, [KeyGroup([k], [value])], scale, temperature, topk,
                      chunk_size, max_block)


def _topk_read_with_grad(q: Tensor, k: Tensor, v: Tensor, scale: float,
                         topk: int, max_block: int) -> Tensor:
    """The top-k read of :func:`memory_read` for training: gradients flow
    to the queries, the kept keys and the values (the tiled core writes into
    reusable buffers, which autograd cannot follow). Rows of queries are
    taken so that no logit block exceeds ``max_block`` elements.

    Args:
        q (Tensor): Prepared queries (B, Nq, C).
        k (Tensor): Prepared keys (B, Nk, C).
        v (Tensor): Values (B, Nk, Cv).

    Returns:
        Tensor: (B, Nq, Cv).
    """
    rows = max(1, max_block // max(q.size(0) * k.size(1), 1))
    batch = torch.arange(q.size(0), device=q.device)[:, None, None]
    out = []
    for r in range(0, q.size(1), rows):
        logits = torch.bmm(q[:, r:r + rows], k.transpose(1, 2)) * scale
        top, idx = logits.topk(topk, dim=-1)
        weights = top.softmax(-1)  # (B, m, k)
        out.append((weights.unsqueeze(-1) * v[batch, idx]).sum(2))
    return torch.cat(out, 1)


def memory_read_maps(query_key: Tensor,
                     memory_keys: Tensor,
                     memory_values: Tensor,
                     affinity: str = 'dot',
                     temperature: float = 1.0,
                     topk: Optional[int] = None) -> Tensor:
    """:func:`memory_read` on feature maps: every position of every memory
    frame is a key.

    Args:
        query_key (Tensor): (N, Ck, h, w).
        memory_keys (Tensor): (N, T, Ck, h, w).
        memory_values (Tensor): (N, T, Cv, h, w).

    Returns:
        Tensor: Readout (N, Cv, h, w).
    """
    n, _, h, w = query_key.shape

    def tokens(z: Tensor) -> Tensor:  # -> (N, T h w, C)
        return z.permute(0, 1, 3, 4, 2).reshape(n, -1, z.size(2))

    out = memory_read(
        query_key.flatten(2).transpose(1, 2), tokens(memory_keys),
        tokens(memory_values), affinity=affinity, temperature=temperature,
        topk=topk)
    return out.transpose(1, 2).reshape(n, -1, h, w)
