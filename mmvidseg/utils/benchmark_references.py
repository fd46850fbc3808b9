"""Reference implementations the benchmarks compare against.

They compute the same maths as the library's fast paths, formulated as the
original code did: TMANet's memory read builds the whole affinity matrix;
CRW label propagation (videowalk's ``test.py``) holds every frame's
features and materialises the key tensor of every target's context. The
benchmark times them, and the tests check that the fast paths give the
same numbers.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor


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


def videowalk_context_index(num_frames: int, queue_len: int) -> Tensor:
    """Context frames of every target, as indices into the padded video.

    The original evaluation prepends ``queue_len`` copies of frame 0 to the
    video, so frame ``t`` sits at padded index ``t + L``. Target ``t`` reads
    frame 0 (long term, padded index 0) and the ``L`` frames before it
    (padded indices ``t .. t + L - 1``).

    Args:
        num_frames (int): Frames T of the video.
        queue_len (int): Short-term context frames L.

    Returns:
        Tensor: (T, L + 1) int64; column 0 is the long-term frame.
    """
    short = torch.arange(queue_len)[None] + torch.arange(num_frames)[:, None]
    return torch.cat([torch.zeros(num_frames, 1, dtype=torch.long), short],
                     1)


def videowalk_keys(feats: Tensor, queue_len: int) -> Tuple[Tensor, Tensor]:
    """The original's key and query tensors of a whole video.

    Every frame's features are padded in front with ``L`` copies of frame
    0 and the context frames of every target are gathered into one new
    tensor, as videowalk's ``test.py`` does (its T x (L+1) x C x hw floats
    are the 13.8 GB of a 100-frame 480p video with 256 channels).

    Args:
        feats (Tensor): (T, C, h, w) features of every frame, already
            normalised.
        queue_len (int): Short-term context frames L.

    Returns:
        tuple[Tensor, Tensor]: Keys (1, C, T, L + 1, h*w), a materialised
        copy, and queries (1, C, T, h*w), a view of the padded features.
    """
    num = feats.size(0)
    padded = torch.cat([feats[:1].expand(queue_len, -1, -1, -1), feats])
    padded = padded.transpose(0, 1)[None]  # (1, C, T + L, h, w)
    index = videowalk_context_index(num, queue_len)
    keys = padded[:, :, index.to(feats.device)].flatten(-2)
    return keys, padded[:, :, queue_len:].flatten(-2)


def videowalk_radius_mask(h: int, w: int, radius: float,
                          device=None) -> Tensor:
    """(h*w, h*w) additive mask: 0 within grid distance ``< radius``
    (row-major positions), -1e10 elsewhere; the whole matrix, as the
    original builds it."""
    ys, xs = torch.meshgrid(torch.arange(h, device=device),
                            torch.arange(w, device=device), indexing='ij')
    ys, xs = ys.flatten(), xs.flatten()
    dist = ((ys[:, None] - ys[None])**2 +
            (xs[:, None] - xs[None])**2).float()**0.5
    return torch.zeros(dist.shape, device=device).masked_fill_(
        dist >= radius, -1e10)


def _videowalk_affinities(keys: Tensor, query: Tensor, mask: Tensor,
                          temperature: float, topk: int, device,
                          target_batch: int, query_chunk: int) -> tuple:
    """Top-k weights and context indices (T, k, hw) of every target,
    computed before any label is propagated, in blocks of
    ``target_batch`` targets x ``query_chunk`` query positions."""
    weights, indices = [], []
    num, n_ctx, hw = keys.size(2), keys.size(3), keys.size(4)
    k = min(topk, n_ctx * hw)
    for b in range(0, num, target_batch):
        key_b = keys[0, :, b:b + target_batch].to(device)
        query_b = query[0, :, b:b + target_batch].to(device)
        ws, ids = [], []
        for p in range(0, hw, query_chunk):
            # (targets, L + 1, key positions, query positions)
            aff = torch.einsum('cnlk,cnq->nlkq', key_b,
                               query_b[..., p:p + query_chunk])
            aff[:, 1:] += mask[:, p:p + query_chunk].to(device)
            aff = aff.flatten(1, 2).div_(temperature)
            w, i = aff.topk(k, dim=1)
            ws.append(w.softmax(dim=1).cpu())
            ids.append(i.cpu())
        weights += list(torch.cat(ws, -1))
        indices += list(torch.cat(ids, -1))
    return weights, indices


def propagate_videowalk(feats: Tensor,
                        first_labels: Tensor,
                        queue_len: int = 20,
                        temperature: float = 0.05,
                        topk: int = 10,
                        radius: float = 12.,
                        norm_mask: bool = False,
                        target_batch: int = 2,
                        query_chunk: int = 100) -> Tensor:
    """Label propagation formulated as the original evaluation.

    As videowalk's ``test.py`` (``mem_efficient_batched_affinity``): the
    features of every frame are held (on the CPU), the key tensor of every
    target's ``L + 1`` context frames is materialised
    (:func:`videowalk_keys`), all top-k affinities are computed first, then
    labels are propagated frame by frame (frame 0's output: its labels;
    with ``norm_mask`` a per-pixel min-max that gives NaN where all classes
    are equal, and normalises frame 0's long-term labels in place). Padded
    frames before 0 carry frame 0's labels.

    Args:
        feats (Tensor): (T, C, h, w) features of every frame (normalised
            here over C); computation runs on its device.
        first_labels (Tensor): (K, h, w) frame-0 labels.
        queue_len (int): Short-term context frames L.
        temperature (float): Softmax temperature.
        topk (int): Context positions kept per query.
        radius (float): Short-term spatial radius (grid units).
        norm_mask (bool): Min-max normalise every output.
        target_batch (int): Targets per affinity block (original: 2).
        query_chunk (int): Query positions per block (original: 100).

    Returns:
        Tensor: (T, K, h, w) soft labels on the device of ``feats``.
    """
    device = feats.device
    num, _, h, w = feats.shape
    k_cls = first_labels.size(0)
    keys, query = videowalk_keys(F.normalize(feats, dim=1).cpu(), queue_len)
    mask = videowalk_radius_mask(h, w, radius)
    weights, indices = _videowalk_affinities(keys, query, mask, temperature,
                                             topk, device, target_batch,
                                             query_chunk)
    del keys, query, mask
    index = videowalk_context_index(num, queue_len)
    labels = first_labels.new_zeros(num + queue_len, h, w, k_cls).cpu()
    labels[:queue_len + 1] = first_labels.permute(1, 2, 0).cpu()
    outs = []
    for t in range(num):
        if t == 0:
            pred = labels[0]
        else:
            ctx = labels[index[t]].to(device).flatten(0, 2).t()
            pred = (ctx[:, indices[t]] *
                    weights[t].to(device)[None]).sum(1)
            pred = pred.view(k_cls, h, w).permute(1, 2, 0)
        labels[t + queue_len] = pred
        if norm_mask:  # in place: frame 0's long-term labels too
            pred -= pred.min(-1, keepdim=True).values
            pred /= pred.max(-1, keepdim=True).values
        outs.append(pred.permute(2, 0, 1).to(device))
    return torch.stack(outs)
