"""Tiled memory read over key groups (the core of every top-k or masked
read: :func:`memory_read`, :class:`MemoryBank`, label propagation).

Queries run in tiles so that no block of more than ``max_block``
(query x key) logits is ever allocated. A :class:`KeyGroup` with a
``radius`` holds whole frames on the query's grid and masks keys at grid
distance ``>= radius`` from the query position (CRW's short-term frames:
``-1e10`` before the temperature, as the original); only the band of
rows/columns within reach of a query tile is read, which is exact since
masked weights underflow to 0 whenever an unmasked key exists.
"""
import math
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor

MASK_VALUE = -1e10
#: Default largest (query x key) logit block of a tiled read (elements).
MAX_BLOCK = 2**24
#: A radius band covering at least this fraction of the frame is read as
#: the whole frame (more products, no copy).
FULL_BAND = 0.9


@dataclass(eq=False)
class KeyGroup:
    """Memory entries read together (keys already :func:`prepare_keys`-ed).

    Attributes:
        keys (list[Tensor]): Per entry (B, P, Ck) tokens, or (B, h, w, Ck) on
            the query's grid (needed with ``radius``).
        values (list[Tensor]): Per entry (B, P, Cv) or (B, h, w, Cv).
        radius (float, optional): Spatial radius in grid units.
        usage (Tensor, optional): (B, n_entries) float, incremented by the
            weight each entry receives (summed over queries) at every read;
            with ``per_token`` (B, n_tokens), the weight of each key token.
            Only for groups without radius.
        per_token (bool): Count ``usage`` per key token, not per entry.
    """
    keys: List[Tensor]
    values: List[Tensor]
    radius: Optional[float] = None
    usage: Optional[Tensor] = None
    per_token: bool = False


def _far_table(h: int, w: int, radius: float, device) -> Tensor:
    """Bool ``far[d2]`` for every squared distance d2 of an (h, w) grid,
    computed as the original: ``float(d2) ** 0.5 >= radius``."""
    d2 = torch.arange((h - 1)**2 + (w - 1)**2 + 1, device=device)
    return d2.float()**0.5 >= radius


def far_mask(rows: Tuple[int, int], cols: Tuple[int, int],
             band_rows: Tuple[int, int], band_cols: Tuple[int, int],
             table: Tensor) -> Tensor:
    """(m, P) bool: queries ``[r0:r1, c0:c1]`` x keys of the band."""
    dev = table.device
    dy = torch.arange(*rows, device=dev)[:, None] - \
        torch.arange(*band_rows, device=dev)
    dx = torch.arange(*cols, device=dev)[:, None] - \
        torch.arange(*band_cols, device=dev)
    d2 = dy.square()[:, None, :, None] + dx.square()[None, :, None, :]
    return table[d2.flatten(2).flatten(0, 1)]


def reach_of(radius: float, h: int, w: int) -> int:
    """Largest per-axis offset at distance < radius (-1: none)."""
    return max(h, w) if radius > max(h, w) else math.ceil(radius) - 1


def _grid_tiles(h: int, w: int,
                chunk: int) -> List[Tuple[int, int, int, int]]:
    """Square-ish query tiles (r0, r1, c0, c1) of <= chunk positions."""
    if chunk >= h * w:
        return [(0, h, 0, w)]
    tw = min(w, max(1, math.isqrt(chunk)))
    th = min(h, max(1, chunk // tw))
    return [(r, min(r + th, h), c, min(c + tw, w)) for r in range(0, h, th)
            for c in range(0, w, tw)]


def _tile_block(groups: Sequence[KeyGroup], side: Tuple[int, int],
                hw: Optional[Tuple[int, int]], topk: Optional[int]) -> int:
    """Largest per-query block of a tile of ``side``: logits over the keys
    it reads, or the gathered top-k values."""
    keys = 0
    for g in groups:
        if g.radius is None:
            keys += sum(k[0].numel() // k.size(-1) for k in g.keys)
        else:
            r = max(reach_of(g.radius, *hw), 0)
            keys += len(g.keys) * min(hw[0], side[0] + 2 * r) * min(
                hw[1], side[1] + 2 * r)
    gathered = 0 if topk is None else \
        topk * len(groups) * groups[0].values[0].size(-1)
    return max(keys, gathered, 1)


def plan_tiles(num_queries: int, hw: Optional[Tuple[int, int]],
               groups: Sequence[KeyGroup], batch: int,
               chunk_size: Optional[int], max_block: int,
               topk: Optional[int] = None
               ) -> List[Tuple[int, int, int, int]]:
    """Query tiles whose blocks stay within ``max_block`` elements.

    Token queries (``hw`` None) are tiled as rows ``(r0, r1, 0, 1)``.
    """
    chunk = num_queries if chunk_size is None else max(1, chunk_size)
    while True:
        if hw is None:
            side = (min(chunk, num_queries), 1)
            tiles = [(r, min(r + chunk, num_queries), 0, 1)
                     for r in range(0, num_queries, chunk)]
        else:
            tiles = _grid_tiles(hw[0], hw[1], chunk)
            side = (tiles[0][1] - tiles[0][0], tiles[0][3] - tiles[0][2])
        block = batch * side[0] * side[1] * _tile_block(
            groups, side, hw, topk)
        if block <= max_block or chunk == 1:
            return tiles
        chunk = max(1, min(chunk * max_block // block,
                           side[0] * side[1] - 1))


def _scale_(logits: Tensor, scale: float, temperature: float) -> Tensor:
    if scale != 1.0:
        logits.mul_(scale)
    if temperature != 1.0:
        logits.div_(temperature)
    return logits


def _tokens(tensors: List[Tensor]) -> Tensor:
    """Entries (..., C) of one batch element -> one (N, C) tensor."""
    c = tensors[0].size(-1)
    if len(tensors) == 1:
        return tensors[0].reshape(-1, c)
    return torch.cat([t.reshape(-1, c) for t in tensors])


def _workspace(tables: Dict, name: object, shape: Tuple[int, ...],
               like: Tensor) -> Tensor:
    """A reusable buffer of ``shape`` kept in ``tables``.

    The per-tile blocks (stacked band keys, logits) are tens of MiB at DAVIS
    size; allocated afresh for every tile, each is a new mapping whose pages
    fault in again (several hundred thousand page faults per frame), which
    made the read up to a fifth slower depending on the allocator's state.
    """
    numel = math.prod(shape)
    key = ('workspace', name)
    buf = tables.get(key)
    if buf is None or buf.numel() < numel or buf.dtype != like.dtype or \
            buf.device != like.device:
        buf = like.new_empty(numel)
        tables[key] = buf
    return buf[:numel].view(shape)


def _frames(group: KeyGroup, i: int, tables: Dict, slot: int,
            like: Tensor) -> Tuple[Tensor, Tensor]:
    """A radius group's entries of batch element ``i`` stacked once per
    read: keys (n, h, w, Ck) in a reusable workspace, values (n, h, w, Cv).

    Every tile then copies its band out of them in one operation (or reads
    them as they are when the band is the whole frame) instead of one copy
    per entry and tile; on a loaded machine each copy is a parallel region
    that waits for a descheduled thread, so their number matters.
    """
    keys = torch.stack([k[i] for k in group.keys],
                       out=_workspace(tables, ('frames', slot),
                                      (len(group.keys), ) +
                                      tuple(group.keys[0].shape[1:]), like))
    return keys, torch.stack([v[i] for v in group.values])


def _tile_far(tables: Dict, radius: float, hw: Tuple[int, int],
              tile: Tuple[int, int, int, int],
              band: Tuple[int, int, int, int], device) -> tuple:
    """The far mask (m, P) of a tile's band and whether any key is far.

    Made at the first read and kept in ``tables`` (bool, one byte per
    (query, band key) pair: 9 MiB for CRW at DAVIS 480p), so later reads
    spend no operation on them; on a loaded machine every operation is a
    parallel region that may wait for a descheduled thread.
    """
    h, w = hw
    masks = tables.setdefault(('far', h, w, radius), {})
    key = (tile, band)
    if key not in masks:
        tkey = (h, w, radius)
        if tkey not in tables:
            tables[tkey] = _far_table(h, w, radius, device)
        far = far_mask(tile[:2], tile[2:], band[:2], band[2:], tables[tkey])
        masks[key] = (far, bool(far.any()))
    return masks[key]


def _band(q: Tensor, group: KeyGroup, frames: Tuple[Tensor, Tensor],
          tile: Tuple[int, int, int, int], hw: Tuple[int, int],
          tables: Dict, slot: int) -> tuple:
    """Logits (m, n P) and values (n P, Cv) of a radius group's band around
    a query tile (None when every key is masked); ``frames`` are the
    group's stacked entries (:func:`_frames`), ``slot`` names the group's
    workspaces. A band of most of the frame is read as the whole frame
    (its extra keys are masked): no copy."""
    h, w = hw
    r0, r1, c0, c1 = tile
    reach = reach_of(group.radius, h, w)
    if reach < 0:
        return None, None
    b0, b1 = max(r0 - reach, 0), min(r1 + reach, h)
    d0, d1 = max(c0 - reach, 0), min(c1 + reach, w)
    keys, values = frames
    c = keys.size(-1)
    if (b1 - b0) * (d1 - d0) >= FULL_BAND * h * w:
        b0, b1, d0, d1 = 0, h, 0, w
    else:
        keys = _workspace(tables, ('keys', slot),
                          (keys.size(0), b1 - b0, d1 - d0, c),
                          q).copy_(keys[:, b0:b1, d0:d1])
        values = values[:, b0:b1, d0:d1]
    far, any_far = _tile_far(tables, group.radius, hw, tile,
                             (b0, b1, d0, d1), q.device)
    keys = keys.reshape(-1, c)
    logits = torch.mm(q, keys.t(), out=_workspace(
        tables, ('logits', slot), (q.size(0), keys.size(0)), q))
    if any_far:
        logits.view(far.size(0), -1, far.size(1)).masked_fill_(
            far[:, None], MASK_VALUE)
    return logits, values.reshape(-1, values.size(-1))


def tiled_read(query: Tensor,
               groups: Sequence[KeyGroup],
               scale: float = 1.0,
               temperature: float = 1.0,
               topk: Optional[int] = None,
               chunk_size: Optional[int] = 256,
               max_block: int = MAX_BLOCK,
               tables: Optional[Dict] = None) -> Tensor:
    """Read prepared key groups for prepared queries, tile by tile.

    Per tile and group the logits are ``scale * q . k`` (masked keys
    ``MASK_VALUE * scale``), divided by ``temperature``. With ``topk`` each
    group keeps its top-k and the top-k of their union is kept (the top-k of
    all keys); then softmax and the weighted sum of values. Entries of one
    group have the same number of tokens.

    Args:
        query (Tensor): (B, M, Ck) tokens or (B, h, w, Ck) on a grid (needed
            when a group has a radius).
        groups (Sequence[KeyGroup]): Key groups, read in order (ties of the
            top-k go to the earlier group).
        scale (float): Logit multiplier.
        temperature (float): Logit divisor.
        topk (int, optional): Keys kept per query.
        chunk_size (int, optional): Queries per tile (None: all), shrunk so
            that a tile's blocks stay within ``max_block`` elements.
        max_block (int): Largest (tile x keys) logit block, and (tile x
            top-k x Cv) gathered-value block, allocated (batch elements are
            read one after the other).
        tables (dict, optional): Cache of the radius tables (per grid and
            radius); pass the same dict across reads to reuse them.

    Returns:
        Tensor: (B, M, Cv) or (B, h, w, Cv).
    """
    if not groups:
        raise ValueError('nothing to read: the memory is empty')
    grid = query.dim() == 4
    c = query.size(-1)
    hw = tuple(query.shape[1:3]) if grid else None
    if any(g.radius is not None for g in groups) and not grid:
        raise ValueError('a key group with a radius needs (B, h, w, C) '
                         'queries on the keys\' grid')
    tables = {} if tables is None else tables
    num_q = hw[0] * hw[1] if grid else query.size(1)
    out = query.new_empty(query.shape[:-1] +
                          (groups[0].values[0].size(-1), ))
    tiles = plan_tiles(num_q, hw, groups, 1, chunk_size, max_block, topk)
    # one batch element at a time: 2-D matrix products run faster than
    # batched ones on CPU, and streaming batches are of one
    for i in range(query.size(0)):
        flat = [_frames(g, i, tables, slot, query) if g.radius is not None
                else (_tokens([k[i] for k in g.keys]).t(),
                      _tokens([v[i] for v in g.values]))
                for slot, g in enumerate(groups)]
        for tile in tiles:
            r0, r1, c0, c1 = tile
            q = (query[i, r0:r1, c0:c1] if grid else
                 query[i, r0:r1]).reshape(-1, c)
            read = _read_tile(q, groups, flat, tile, hw, tables, scale,
                              temperature, topk, i)
            if grid:
                out[i, r0:r1, c0:c1] = read.view(r1 - r0, c1 - c0, -1)
            else:
                out[i, r0:r1] = read
    return out


def _read_tile(q: Tensor, groups: Sequence[KeyGroup], flat: list,
               tile: Tuple[int, int, int, int], hw: Optional[tuple],
               tables: Dict, scale: float, temperature: float,
               topk: Optional[int], i: int) -> Tensor:
    """Readout (m, Cv) of one query tile (m, C) of batch element ``i``;
    ``flat`` holds each group's keys (Ck, N) and values (N, Cv), or its
    stacked frames (radius groups)."""
    parts = []
    for slot, (g, kv) in enumerate(zip(groups, flat)):
        if g.radius is not None:
            logits, values = _band(q, g, kv, tile, hw, tables, slot)
            if logits is None:
                continue
        else:
            logits = torch.mm(q, kv[0], out=_workspace(
                tables, ('logits', slot), (q.size(0), kv[0].size(1)), q))
            values = kv[1]
        if topk is None:
            parts.append((g, _scale_(logits, scale, temperature), values,
                          None))
            continue
        if scale > 0 and temperature > 0:
            # a positive scaling keeps the order: scale the top-k values
            # alone (the same numbers, without a pass over every logit)
            top, idx = logits.topk(min(topk, logits.size(-1)), dim=-1)
            _scale_(top, scale, temperature)
        else:
            top, idx = _scale_(logits, scale, temperature).topk(
                min(topk, logits.size(-1)), dim=-1)
        del logits
        parts.append((g, top, values[idx], idx))
    logits = torch.cat([p[1] for p in parts], -1)
    if topk is None:
        weights = logits.softmax(-1)
        read, start = 0, 0
        for g, lg, vals, _ in parts:
            n = lg.size(-1)
            wg = weights[:, start:start + n]
            read = read + wg @ vals
            if g.usage is not None:
                _add_usage(g, i, wg.sum(0))
            start += n
        return read
    vals = torch.cat([p[2] for p in parts], 1)  # (m, <= 2k, Cv)
    sel = None
    if len(parts) > 1:
        logits, sel = logits.topk(min(topk, logits.size(-1)), dim=-1)
        vals = vals.gather(1, sel[..., None].expand(-1, -1, vals.size(-1)))
    weights = logits.softmax(-1)
    _add_usage_topk(parts, sel, weights, i)
    return (vals * weights[..., None]).sum(1)


def _add_usage_topk(parts: list, sel: Optional[Tensor], weights: Tensor,
                    i: int) -> None:
    """Add the weight of every kept key to its entry's usage."""
    start = 0
    for g, top, _, idx in parts:
        k = top.size(-1)
        if g.usage is not None:
            if sel is None:
                w = weights
            else:  # weight of each group candidate, 0 if not kept
                inside = (sel >= start) & (sel < start + k)
                w = weights.new_zeros(top.shape).scatter_add_(
                    -1, (sel - start).clamp(0, k - 1), weights * inside)
            per_key = weights.new_zeros(
                sum(t[i].numel() // t.size(-1) for t in g.keys))
            per_key.scatter_add_(0, idx.reshape(-1), w.reshape(-1))
            _add_usage(g, i, per_key)
        start += k


def _add_usage(g: KeyGroup, i: int, per_key: Tensor) -> None:
    """Add per-key weights (n_tokens,) to the group's usage, per token or
    summed per entry (entries of equal size)."""
    if g.per_token:
        g.usage[i] += per_key
    else:
        g.usage[i] += per_key.view(len(g.keys), -1).sum(-1)
