"""Radius key groups are gathered once per read, not once per tile."""
import torch

from mmvidseg.models.utils import LabelPropagationState


def test_radius_group_entries_stacked_once_per_read(monkeypatch):
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(3, 8, 12, 12, generator=g)
    y0 = torch.rand(2, 12, 12, generator=g)
    kwargs = dict(queue_len=5, topk=4, radius=3)
    expected = LabelPropagationState(chunk_size=None, **kwargs)
    expected.reset(feats[0], y0)
    expected = [expected.step(f) for f in feats[1:]]
    state = LabelPropagationState(chunk_size=16, **kwargs)  # 9 tiles
    state.reset(feats[0], y0)
    stacked = []
    stack = torch.stack

    def counting(tensors, *args, **kw):
        stacked.append(len(tensors))
        return stack(tensors, *args, **kw)

    monkeypatch.setattr(torch, 'stack', counting)
    out = [state.step(f) for f in feats[1:]]
    monkeypatch.undo()
    for a, b in zip(out, expected):
        assert torch.allclose(a, b, atol=1e-6)
    # per read: the queue's keys and labels, one stack each (a copy per
    # entry and tile is one parallel region each, slow on a busy machine)
    assert sum(stacked) == 2 * 2 * 5
