"""ReverseStage: golden values of SINet-V2's reverse stage in SALI, the
general group interleaving, errors, backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (key
``reverse_stage``), parameters filled by ``tests/test_models/_sali_fill.py``
under ``backbone.decoder.RS4.*``.
"""
import pytest
import torch

from mmvidseg.models.layers import ReverseStage
from mmvidseg.models.layers.reverse_stage import _GRABlock

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

GOLDEN = [-146.8175021, 532.0880284, 0.02913951874, 0.5084719658,
          1.492820978, -0.07224559784]


@torch.no_grad()
def test_golden():
    m = fill_like_sali_(
        ReverseStage(32), 'decode_head.decoder.reverse_stage4.')
    out = m(seeded_randn(2, 32, 12, 10, seed=4),
            seeded_randn(2, 1, 12, 10, seed=5))
    assert out.shape == (2, 1, 12, 10)
    assert_summary(out, GOLDEN)
    assert (m.weak_gra.groups, m.medium_gra.groups,
            m.strong_gra.groups) == (1, 4, 32)


@pytest.mark.parametrize('groups', [1, 2, 4, 16])
def test_interleaving_matches_chunks(groups):
    torch.manual_seed(groups)
    block = _GRABlock(16, groups)
    x, y = torch.randn(2, 16, 5, 4), torch.randn(2, 1, 5, 4)
    parts = []
    for chunk in torch.chunk(x, groups, dim=1):
        parts += [chunk, y]
    x_cat = torch.cat(parts, dim=1)
    x_ref = x + torch.relu(block.conv(x_cat))
    y_ref = y + block.score(x_ref)
    x_out, y_out = block(x, y)
    torch.testing.assert_close(x_out, x_ref)
    torch.testing.assert_close(y_out, y_ref)


def test_errors_and_backward():
    with pytest.raises(ValueError, match='must divide'):
        _GRABlock(16, 3)
    with pytest.raises(ValueError, match='divisible by 8'):
        ReverseStage(12)
    m = ReverseStage(16)
    x = torch.randn(1, 16, 6, 6, requires_grad=True)
    g = torch.randn(1, 1, 6, 6, requires_grad=True)
    m(x, g).sum().backward()
    assert x.grad.abs().sum() > 0 and g.grad.abs().sum() > 0
