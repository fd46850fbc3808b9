"""A bounded memory of past frames for streaming video models."""
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor

from .memory_read import (AFFINITIES, affinity_scale, prepare_keys,
                          prepare_query)
from .tiled_read import MAX_BLOCK, KeyGroup, tiled_read

Maps = Union[Tensor, Sequence[Tensor]]
KINDS = ('permanent', 'working', 'temporary')
PRUNE_MODES = ('fifo', 'usage', 'usage_tokens')


@dataclass(eq=False)
class MemoryEntry:
    """One stored frame.

    Attributes:
        keys (list[Tensor]): Per scale, prepared keys (B, h, w, Ck) or
            (B, P, Ck), channels last, on the storage device.
        values (list[Tensor]): Per scale, (B, h, w, Cv) or (B, P, Cv).
        kind (str): ``'permanent'``, ``'working'`` or ``'temporary'``.
        radius (float, optional): Spatial radius of the reads of this entry.
        frame (int, optional): Frame index, for the caller.
        usage (Tensor): (B,) attention weight received, summed over reads.
        life (int): Reads since the entry was written.
        token_usage (list[Tensor], optional): With ``prune='usage_tokens'``,
            per scale (B, P) weight received by each token.
        token_life (list[Tensor], optional): Per scale, reads of that scale
            since written, as a float32 counter starting at 1e-7 (SALI's).
    """
    keys: List[Tensor]
    values: List[Tensor]
    kind: str
    radius: Optional[float] = None
    frame: Optional[int] = None
    usage: Tensor = field(default_factory=lambda: torch.zeros(1))
    life: int = 0
    token_usage: Optional[List[Tensor]] = None
    token_life: Optional[List[Tensor]] = None


class MemoryBank:
    """Keys and values of past frames, read by top-k/softmax attention.

    Entries are *permanent* (first frame, reference slices, user-given
    masks: never pruned), *working* (pruned beyond the budget) or one
    *temporary* entry replaced at every write (STCN's last frame). Each
    entry holds keys (C_k, P) and values (C_v, P) per batch element for one
    or several feature scales. Reads (:meth:`read`) run the shared tiled
    core (:func:`tiled_read`): one softmax (optionally over the top-k) of
    the affinity of every stored key, with a per-entry spatial radius mask
    (CRW's short-term frames), and no (query x key) block above
    ``max_block`` elements.

    Budget: at most ``max_frames`` working entries and ``max_tokens`` working
    tokens (scale 0); beyond it the oldest (``prune='fifo'``) or the least
    used (``prune='usage'``: lowest mean weight per read, as XMem, entries
    never read yet kept) working entry goes. ``prune='usage_tokens'`` is
    SALI's (``lib/long_term.py``): usage and life are counted per token and
    scale; when the working tokens of scale 0 exceed ``max_frames`` frames
    (``floor(tokens / frame tokens) > max_frames``, so fewer than
    ``max_frames + 1`` frames of tokens are held there), each scale keeps
    ``max_frames`` frames' worth of tokens, dropping every
    token whose usage / life is at or below the k-th lowest (k the excess;
    tokens tied with it go too, and tokens never read have usage 0, so a
    just-written frame is the first to go). Entries are then stored as
    token lists (B, P, C); this mode keeps one video's memory (batch 1).

    Args:
        affinity (str): One of ``AFFINITIES``.
        temperature (float): Logits are divided by it.
        topk (int, optional): Keys kept per query.
        mem_every (int): :meth:`step` writes a working entry every
            ``mem_every`` frames.
        use_temporary (bool): :meth:`step` keeps the other frames as the
            temporary entry.
        max_frames (int, optional): Working-entry budget in frames.
        max_tokens (int, optional): Working-entry budget in tokens.
        prune (str): ``'fifo'``, ``'usage'`` or ``'usage_tokens'``.
        chunk_size (int, optional): Query positions per tile of a read.
        max_block (int): Largest logit block of a read (elements).
        storage_device (str | torch.device, optional): Where entries are
            kept (e.g. ``'cpu'`` to offload a long video's memory); reads
            move them to the query's device. Default: where written.
    """

    def __init__(self,
                 affinity: str = 'neg_l2',
                 temperature: float = 1.0,
                 topk: Optional[int] = None,
                 mem_every: int = 1,
                 use_temporary: bool = False,
                 max_frames: Optional[int] = None,
                 max_tokens: Optional[int] = None,
                 prune: str = 'usage',
                 chunk_size: Optional[int] = 1024,
                 max_block: int = MAX_BLOCK,
                 storage_device: Optional[Union[str, torch.device]] = None
                 ) -> None:
        if affinity not in AFFINITIES:
            raise ValueError(f'unknown affinity {affinity!r}; choose from '
                             f'{AFFINITIES}')
        if temperature <= 0 or (topk is not None and topk < 1):
            raise ValueError('temperature must be > 0 and topk >= 1')
        if mem_every < 1:
            raise ValueError('mem_every must be >= 1')
        if prune not in PRUNE_MODES:
            raise ValueError(f'prune must be one of {PRUNE_MODES}, got '
                             f'{prune!r}')
        if prune == 'usage_tokens' and (max_tokens is not None
                                        or use_temporary):
            raise ValueError("prune='usage_tokens' budgets in max_frames "
                             'and keeps no temporary entry')
        for name, v in (('max_frames', max_frames), ('max_tokens',
                                                     max_tokens)):
            if v is not None and v < 0:
                raise ValueError(f'{name} must be >= 0')
        self.affinity = affinity
        self.temperature = temperature
        self.topk = topk
        self.mem_every = mem_every
        self.use_temporary = use_temporary
        self.max_frames = max_frames
        self.max_tokens = max_tokens
        self.prune = prune
        self.chunk_size = chunk_size
        self.max_block = max_block
        self.storage_device = None if storage_device is None else \
            torch.device(storage_device)
        self.reset()

    # ------------------------------------------------------------- state
    def reset(self) -> None:
        """Forget every entry."""
        self.entries: List[MemoryEntry] = []
        self.frames_seen = 0
        self._tables: Dict = {}
        self._frame_tokens: Optional[List[int]] = None

    def reset_workspace(self) -> None:
        """Drop the reusable read buffers (they come back at the next read;
        :meth:`reset` drops them too)."""
        self._tables = {}

    def workspace_tensors(self) -> List[Tensor]:
        """The reusable read buffers (per-tile blocks) held between reads."""
        return [v for k, v in self._tables.items()
                if isinstance(k, tuple) and k[0] == 'workspace']

    @property
    def working(self) -> List[MemoryEntry]:
        return [e for e in self.entries if e.kind == 'working']

    @property
    def num_frames(self) -> int:
        """Stored entries of every kind."""
        return len(self.entries)

    def num_tokens(self, kind: Optional[str] = None) -> int:
        """Tokens (positions) at scale 0 of the entries of ``kind``."""
        return sum(e.keys[0][0].numel() // e.keys[0].size(-1)
                   for e in self.entries if kind in (None, e.kind))

    def held_tensors(self) -> List[Tensor]:
        """The distinct tensors held (entries may share them)."""
        held = [t for e in self.entries for t in (*e.keys, *e.values)]
        return list({id(t): t for t in held}.values())

    def to(self, device: Union[str, torch.device]) -> 'MemoryBank':
        """Move every stored entry (and later writes) to ``device``."""
        self.storage_device = torch.device(device)
        moved: Dict[int, Tensor] = {}

        def mv(t: Tensor) -> Tensor:
            if id(t) not in moved:
                moved[id(t)] = t.to(self.storage_device)
            return moved[id(t)]

        for e in self.entries:
            e.keys = [mv(t) for t in e.keys]
            e.values = [mv(t) for t in e.values]
        self._tables = {}
        return self

    # ------------------------------------------------------------- writes
    def _store(self, maps: Maps, prepare: bool) -> List[Tensor]:
        maps = [maps] if isinstance(maps, Tensor) else list(maps)
        out = []
        for m in maps:
            if m.dim() not in (3, 4):
                raise ValueError('memory maps must be (B, C, h, w) or '
                                 f'(B, C, P), got {tuple(m.shape)}')
            m = m.detach().movedim(1, -1)
            if prepare:
                m = prepare_keys(m, self.affinity)
            if self.storage_device is not None:
                m = m.to(self.storage_device)
            out.append(m.contiguous())
        return out

    def write(self,
              key: Maps,
              value: Maps,
              kind: str = 'working',
              radius: Optional[float] = None,
              frame: Optional[int] = None,
              repeat: int = 1) -> None:
        """Store a frame.

        Args:
            key (Tensor | Sequence[Tensor]): (B, Ck, h, w) or (B, Ck, P),
                one per scale.
            value (Tensor | Sequence[Tensor]): (B, Cv, h, w) or (B, Cv, P).
            kind (str): ``'permanent'``, ``'working'`` or ``'temporary'``
                (replaces the previous temporary entry).
            radius (float, optional): Read this entry only within this grid
                radius of the query position.
            frame (int, optional): Frame index, kept with the entry.
            repeat (int): Store the entry this many times (sharing tensors;
                CRW pads its queue with copies of frame 0).
        """
        if kind not in KINDS:
            raise ValueError(f'kind must be one of {KINDS}, got {kind!r}')
        keys, values = self._store(key, True), self._store(value, False)
        if len(keys) != len(values):
            raise ValueError(f'{len(keys)} key scales but {len(values)} '
                             'value scales')
        for k, v in zip(keys, values):
            if k.shape[:-1] != v.shape[:-1]:
                raise ValueError(f'keys {tuple(k.shape)} and values '
                                 f'{tuple(v.shape)} (channels last) '
                                 'disagree')
        batch = keys[0].size(0)
        if self.prune == 'usage_tokens':
            keys = [k.flatten(1, -2) for k in keys]
            values = [v.flatten(1, -2) for v in values]
        sizes = [k.shape[:-1].numel() // k.size(0) for k in keys]
        if self.entries:
            first = self.entries[0].keys
            if (self._frame_tokens != sizes or first[0].size(0) != batch
                    if self.prune == 'usage_tokens' else
                    [k.shape[:-1] for k in first] != [k.shape[:-1]
                                                      for k in keys]):
                raise ValueError('an entry of a different size than the '
                                 'stored ones')
        else:
            self._frame_tokens = sizes
        if kind == 'temporary':
            self.entries = [e for e in self.entries if e.kind != kind]
        for _ in range(repeat):
            entry = MemoryEntry(list(keys), list(values), kind, radius,
                                frame, usage=torch.zeros(batch))
            if self.prune == 'usage_tokens':
                entry.token_usage = [
                    torch.zeros(batch, n, device=k.device)
                    for n, k in zip(sizes, keys)]
                entry.token_life = [
                    torch.full((), 1e-7, dtype=torch.float32) for _ in keys]
            self.entries.append(entry)
        if kind == 'working':
            self._prune()

    def drop_temporary(self) -> None:
        """Forget the temporary entry (STCN does so at every non-temporary
        write)."""
        self.entries = [e for e in self.entries if e.kind != 'temporary']

    def step(self, key: Maps, value: Maps,
             frame: Optional[int] = None) -> Optional[str]:
        """Write the current frame as streaming methods do.

        Every ``mem_every``-th call (counting from 0) stores a working entry
        and drops the temporary one; otherwise, with ``use_temporary``, the
        frame replaces the temporary entry.

        Returns:
            str | None: The kind written, if any.
        """
        kind = None
        if self.frames_seen % self.mem_every == 0:
            self.drop_temporary()
            kind = 'working'
        elif self.use_temporary:
            kind = 'temporary'
        if kind is not None:
            self.write(key, value, kind, frame=frame)
        self.frames_seen += 1
        return kind

    def _over_budget(self) -> bool:
        work = self.working
        return ((self.max_frames is not None and len(work) > self.max_frames)
                or (self.max_tokens is not None
                    and self.num_tokens('working') > self.max_tokens))

    def _prune(self) -> None:
        if self.prune == 'usage_tokens':
            self._prune_tokens()
            return
        while self._over_budget():
            work = self.working
            victim = work[0]
            if self.prune == 'usage':
                read = [e for e in work if e.life > 0]
                if read:
                    victim = min(read,
                                 key=lambda e: float(e.usage.mean()) / e.life)
            self.entries.remove(victim)

    def _prune_tokens(self) -> None:
        """SALI's ``obsolete_features_removing`` (see the class doc)."""
        work = self.working
        if self.max_frames is None or not work:
            return
        frame0 = self._frame_tokens[0]
        if sum(e.keys[0].size(1) for e in work) // frame0 <= self.max_frames:
            return
        if work[0].keys[0].size(0) != 1:
            raise ValueError("prune='usage_tokens' keeps one video's memory; "
                             f'got a batch of {work[0].keys[0].size(0)}')
        for s, per_frame in enumerate(self._frame_tokens):
            ratio = torch.cat([(e.token_usage[s] / e.token_life[s].to(
                e.token_usage[s].device))[0] for e in work])
            excess = ratio.numel() - self.max_frames * per_frame
            if excess <= 0:
                continue
            lowest = ratio.topk(excess, largest=False, sorted=True).values
            keep = (ratio > lowest[-1]).split(
                [e.keys[s].size(1) for e in work])
            for e, k in zip(work, keep):
                k = k.to(e.keys[s].device)
                e.keys[s], e.values[s] = e.keys[s][:, k], e.values[s][:, k]
                e.token_usage[s] = e.token_usage[s][:, k.to(
                    e.token_usage[s].device)]
        self.entries = [
            e for e in self.entries
            if e.kind != 'working' or any(k.size(1) for k in e.keys)]

    def pad_values(self, extra: int) -> None:
        """Append ``extra`` zero channels to every stored value (objects
        that appear in a mask given at a later frame)."""
        padded: Dict[int, Tensor] = {}
        for e in self.entries:
            for i, v in enumerate(e.values):
                if id(v) not in padded:
                    padded[id(v)] = torch.cat(
                        [v, v.new_zeros(v.shape[:-1] + (extra, ))], -1)
                e.values[i] = padded[id(v)]

    # -------------------------------------------------------------- reads
    def _groups(self, scale: int, device: torch.device) -> tuple:
        plain = KeyGroup([], [])
        radial: Dict[float, KeyGroup] = {}
        members = []
        for e in self.entries:
            g = plain if e.radius is None else radial.setdefault(
                e.radius, KeyGroup([], [], e.radius))
            g.keys.append(e.keys[scale].to(device))
            g.values.append(e.values[scale].to(device))
            if g is plain:
                members.append(e)
        groups = ([plain] if plain.keys else []) + list(radial.values())
        if self.prune == 'usage' and plain.keys:
            plain.usage = torch.zeros(plain.keys[0].size(0),
                                      len(plain.keys), device=device)
        elif self.prune == 'usage_tokens' and plain.keys:
            plain.per_token = True
            plain.usage = torch.zeros(
                plain.keys[0].size(0),
                sum(k.size(1) for k in plain.keys), device=device)
        return groups, members

    @torch.no_grad()
    def read(self, query: Tensor, scale: int = 0) -> Tensor:
        """Read the memory for every query position.

        Args:
            query (Tensor): (B, Ck, h, w) or (B, Ck, P) raw query keys.
            scale (int): Which feature scale to read.

        Returns:
            Tensor: (B, Cv, h, w) or (B, Cv, P).
        """
        if not self.entries:
            raise RuntimeError('the memory bank is empty; write first')
        q = prepare_query(query.detach().movedim(1, -1), self.affinity)
        stored = self.entries[0].keys[scale]
        if q.shape[1:-1] != stored.shape[1:-1] and any(
                e.radius is not None for e in self.entries):
            raise ValueError(f'query grid {tuple(q.shape[1:-1])} differs '
                             f'from the stored grid '
                             f'{tuple(stored.shape[1:-1])}')
        groups, members = self._groups(scale, q.device)
        out = tiled_read(
            q.contiguous(), groups,
            affinity_scale(self.affinity, query.size(1)), self.temperature,
            self.topk, self.chunk_size, self.max_block, self._tables)
        if groups and groups[0].per_token:
            start = 0
            for e in members:
                n = e.token_usage[scale].size(1)
                e.token_usage[scale] += groups[0].usage[:, start:start + n].to(
                    e.token_usage[scale].device)
                e.token_life[scale] += 1
                start += n
        elif groups and groups[0].usage is not None:
            usage = groups[0].usage.to(self.entries[0].usage.device)
            for i, e in enumerate(members):
                e.usage = e.usage + usage[:, i]
        for e in self.entries:
            e.life += 1
        return out.movedim(-1, 1)
