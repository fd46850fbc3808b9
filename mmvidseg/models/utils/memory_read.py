"""Attention / memory reads shared by the temporal heads.

A memory read gathers, for each query position, a weighted sum of memory
values, the weights being a softmax over an affinity between the query key
and every memory key. Supported affinities:

* ``'dot'``: ``q . k`` (no scaling; TMANet's read),
* ``'scaled_dot'``: ``q . k / sqrt(C)``,
* ``'cosine'``: ``cos(q, k) / temperature`` (label propagation),
* ``'neg_l2'``: ``(2 q . k - |k|^2) / sqrt(C)``, the negative squared L2
  distance up to a per-query constant (STCN, SALI).

Without top-k the read runs as one ``scaled_dot_product_attention`` call (the
L2 form by augmenting the vectors), so no (hw x hw) matrix is built in
Python. With top-k the affinity is computed in chunks of queries.
"""
import math
from typing import Optional

import torch
import torch.nn.functional as F

AFFINITIES = ('dot', 'scaled_dot', 'cosine', 'neg_l2')


def _prepare(query: torch.Tensor, key: torch.Tensor, affinity: str,
             temperature: float):
    """Return (query, key, scale) such that softmax(scale * q' k'^T) is the
    softmax of the requested affinity."""
    if affinity not in AFFINITIES:
        raise ValueError(f'unknown affinity {affinity!r}; '
                         f'choose from {AFFINITIES}')
    c = query.size(-1)
    if affinity == 'dot':
        return query, key, 1.0
    if affinity == 'scaled_dot':
        return query, key, 1.0 / math.sqrt(c)
    if affinity == 'cosine':
        if temperature <= 0:
            raise ValueError('temperature must be > 0')
        return (F.normalize(query, dim=-1), F.normalize(key, dim=-1),
                1.0 / temperature)
    ones = query.new_ones(query.shape[:-1] + (1, ))
    sq = key.pow(2).sum(-1, keepdim=True)
    return (torch.cat([query, ones], -1), torch.cat([2 * key, -sq], -1),
            1.0 / math.sqrt(c))


def sdpa(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
         scale: float) -> torch.Tensor:
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


def affinity_logits(query: torch.Tensor,
                    key: torch.Tensor,
                    affinity: str = 'dot',
                    temperature: float = 1.0) -> torch.Tensor:
    """Affinity before the softmax.

    Args:
        query (Tensor): (B, Nq, C).
        key (Tensor): (B, Nk, C).

    Returns:
        Tensor: (B, Nq, Nk).
    """
    q, k, scale = _prepare(query, key, affinity, temperature)
    return torch.bmm(q, k.transpose(1, 2)) * scale


def memory_read(query: torch.Tensor,
                key: torch.Tensor,
                value: torch.Tensor,
                affinity: str = 'dot',
                temperature: float = 1.0,
                topk: Optional[int] = None,
                chunk_size: int = 4096) -> torch.Tensor:
    """Read memory values for each query.

    Args:
        query (Tensor): Query keys (B, Nq, C).
        key (Tensor): Memory keys (B, Nk, C).
        value (Tensor): Memory values (B, Nk, Cv).
        affinity (str): One of ``AFFINITIES``.
        temperature (float): Temperature of the cosine affinity.
        topk (int, optional): Keep the k largest affinities per query before
            the softmax.
        chunk_size (int): Queries per chunk in the top-k path.

    Returns:
        Tensor: (B, Nq, Cv).
    """
    if query.dim() != 3 or key.dim() != 3 or value.dim() != 3:
        raise ValueError('query, key and value must be (B, N, C)')
    if key.shape[:2] != value.shape[:2]:
        raise ValueError(f'key {tuple(key.shape)} and value '
                         f'{tuple(value.shape)} disagree')
    q, k, scale = _prepare(query, key, affinity, temperature)
    if topk is None or topk >= k.size(1):
        return sdpa(q, k, value, scale)
    outs = []
    for start in range(0, q.size(1), chunk_size):
        logits = torch.bmm(q[:, start:start + chunk_size],
                           k.transpose(1, 2)) * scale
        top, idx = logits.topk(topk, dim=-1)
        weight = top.softmax(-1)  # (B, n, k)
        b, n, _ = idx.shape
        gathered = value.gather(
            1,
            idx.reshape(b, n * topk, 1).expand(-1, -1, value.size(-1)))
        outs.append((weight.reshape(b, n * topk, 1) * gathered).reshape(
            b, n, topk, -1).sum(2))
    return torch.cat(outs, 1)


def memory_read_maps(query_key: torch.Tensor,
                     memory_keys: torch.Tensor,
                     memory_values: torch.Tensor,
                     affinity: str = 'dot',
                     temperature: float = 1.0,
                     topk: Optional[int] = None) -> torch.Tensor:
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

    def tokens(z: torch.Tensor) -> torch.Tensor:  # -> (N, T h w, C)
        return z.permute(0, 1, 3, 4, 2).reshape(n, -1, z.size(2))

    out = memory_read(
        query_key.flatten(2).transpose(1, 2), tokens(memory_keys),
        tokens(memory_values), affinity=affinity, temperature=temperature,
        topk=topk)
    return out.transpose(1, 2).reshape(n, -1, h, w)
