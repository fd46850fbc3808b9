"""Reference implementations the benchmarks compare against.

They compute the same maths as the library's fast paths in the
straightforward way the original code did: the full affinity matrix is
built and kept. The benchmark times them, and the tests check that the
fast paths give the same numbers.
"""
import torch
import torch.nn.functional as F
from torch import Tensor

from mmvidseg.models.utils import radius_mask


def plain_memory_read(query: Tensor, key: Tensor, value: Tensor,
                      scale: float = 1.0) -> Tensor:
    """``softmax(scale * q k^T) v`` as matmul, softmax, matmul.

    The whole (Nq x Nk) affinity is materialised, as in TMANet's original
    head.

    Args:
        query (Tensor): (B, Nq, C).
        key (Tensor): (B, Nk, C).
        value (Tensor): (B, Nk, Cv).
        scale (float): Affinity scale (TMANet: 1.0, no 1/sqrt(C)).

    Returns:
        Tensor: (B, Nq, Cv).
    """
    attn = torch.softmax(scale * torch.bmm(query, key.transpose(1, 2)), -1)
    return torch.bmm(attn, value)


def propagate_all_frames(feats: Tensor,
                         first_labels: Tensor,
                         queue_len: int = 20,
                         temperature: float = 0.05,
                         topk: int = 10,
                         radius: float = 12.) -> Tensor:
    """Whole-video label propagation with full affinity matrices.

    The features and labels of every frame stay in memory and each target's
    full ((L+1)hw x hw) affinity is built at once, as the original CRW
    evaluation does. Frame ``t`` reads frame 0 (long term, no radius) and
    frames ``t-L .. t-1`` (short term, clamped at 0, radius-masked).

    Args:
        feats (Tensor): (T, C, h, w) features of every frame (normalised
            here over C).
        first_labels (Tensor): (K, h, w) frame-0 labels.
        queue_len (int): Short-term context frames L.
        temperature (float): Softmax temperature.
        topk (int): Context positions kept per query.
        radius (float): Short-term spatial radius (grid units).

    Returns:
        Tensor: (T, K, h, w) soft labels (frame 0: the given labels).
    """
    num, _, h, w = feats.shape
    hw, k_cls = h * w, first_labels.size(0)
    keys = F.normalize(feats, dim=1).flatten(2)  # (T, C, hw)
    labels = feats.new_zeros(num, k_cls, hw)
    labels[0] = first_labels.reshape(k_cls, hw)
    mask = radius_mask(h, w, radius, feats.device).to(feats)  # symmetric
    for t in range(1, num):
        ctx = [0] + [max(s, 0) for s in range(t - queue_len, t)]
        n = len(ctx)
        # (hw, n*hw): query x context position
        aff = keys[t].t() @ torch.cat([keys[i] for i in ctx], 1)
        aff.view(hw, n, hw)[:, 1:] += mask[:, None]
        aff /= temperature
        weights, idx = aff.topk(min(topk, n * hw), dim=1)
        weights = weights.softmax(dim=1)
        ctx_labels = torch.cat([labels[i] for i in ctx], 1)
        labels[t] = (ctx_labels[:, idx.t()] * weights.t()[None]).sum(1)
        del aff
    return labels.view(num, k_cls, h, w)
