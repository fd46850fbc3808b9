"""Affinity work of label propagation and the matmul peak."""
import math

import pytest
import torch

from mmvidseg.models.utils import LabelPropagationState
from mmvidseg.utils.propagation_flops import (matmul_peak, peak_fraction,
                                              propagation_gflop, radius_pairs)


def _brute_pairs(h, w, radius):
    pos = [(y, x) for y in range(h) for x in range(w)]
    return sum(
        math.sqrt((a[0] - b[0])**2 + (a[1] - b[1])**2) < radius
        for a in pos for b in pos)


@pytest.mark.parametrize('radius', [0.5, 1, 1.5, 2.5, 4, 100])
def test_radius_pairs(radius):
    assert radius_pairs(4, 6, radius) == _brute_pairs(4, 6, radius)


def test_propagation_gflop():
    h, w, c, q = 4, 6, 8, 3
    hw, flop = h * w, 2 * c / 1e9
    # one tile of the whole frame: every short-term key is read
    work = propagation_gflop((h, w), c, q, 2.5, chunk_size=None)
    assert work['dense'] == pytest.approx(flop * (q + 1) * hw * hw)
    assert work['streaming'] == pytest.approx(work['dense'])
    assert work['within_radius'] == pytest.approx(
        flop * (hw * hw + q * _brute_pairs(h, w, 2.5)))
    # 1x1 tiles, radius 2 (reach 1): the 3x3 neighbourhood of each query
    work = propagation_gflop((h, w), c, q, 2, chunk_size=1)
    assert work['streaming'] == pytest.approx(
        flop * (hw * hw + q * _brute_pairs(h, w, 1.5)))
    # (the disc of radius 2 is that neighbourhood)
    assert work['within_radius'] == pytest.approx(work['streaming'])
    # DAVIS 480p, CRW settings: about 46 GFLOP of necessary work
    work = propagation_gflop((60, 107), 256, 20, 12)
    assert 45 < work['within_radius'] < 47
    assert work['within_radius'] < work['streaming'] < work['dense']
    assert work['dense'] == pytest.approx(2 * 256 * 21 * 6420**2 / 1e9)


def test_matmul_peak():
    peak = matmul_peak(size=32, iters=2)
    assert peak['gflops'] >= peak['gflops_median'] > 0
    assert peak_fraction(2.0, 0.5, 8.0) == 0.5
    with pytest.raises(ValueError):
        peak_fraction(1.0, 0.0, 1.0)


@pytest.mark.parametrize('hw,radius,chunk', [((12, 14), 3, 16),
                                             ((6, 9), 5, 16)])
def test_streaming_count_is_what_the_read_multiplies(monkeypatch, hw, radius,
                                                     chunk):
    g = torch.Generator().manual_seed(0)
    state = LabelPropagationState(3, topk=4, radius=radius, chunk_size=chunk)
    state.reset(torch.randn(8, *hw, generator=g), torch.rand(2, *hw))
    flop = []
    mm = torch.mm

    def counting(a, b, **kwargs):
        flop.append(2 * a.size(0) * a.size(1) * b.size(1))
        return mm(a, b, **kwargs)

    monkeypatch.setattr(torch, 'mm', counting)
    state.step(torch.randn(8, *hw, generator=g))
    work = propagation_gflop(hw, 8, 3, radius, chunk, topk=4, num_classes=2)
    assert sum(flop) / 1e9 == pytest.approx(work['streaming'])
