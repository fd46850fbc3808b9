"""SINetV2Decoder: golden values of SALI's Decoder (low-resolution maps and
the upsampled predictions), shapes, backward.

Golden values: the original SALI code (github Scatteredrain/SALI, commit
c760e64) run on CPU by ``/tmp/h1_golden/golden_modules.py`` (keys
``decoder/*``), parameters filled by ``tests/test_models/_sali_fill.py``
under ``backbone.decoder.*``; inputs ``[F1, F2, F3]`` of 40, 20, 10 pixels.
"""
import pytest
import torch

from mmvidseg.models.layers import SINetV2Decoder

from .._sali_fill import assert_summary, fill_like_sali_, seeded_randn

# (S_g, S_5, S_4, S_3) upsampled by 8, 32, 16, 8
GOLDEN_UP = {
    'eval': [[-42707.36055, 52193.5663, -0.06685444713, -0.3035732508,
              -0.1128105372, -0.1367262602],
             [160082.1502, 256094.1639, 1.276955366, -0.816454947,
              -0.7228086591, 0.7947197556],
             [1393.527256, 327633.7101, 7.162662506, 0.6035218239,
              1.288528919, 2.082602978],
             [156768.4673, 401740.1254, 4.917925835, 0.5562421679,
              -1.034725189, -0.3625693917]],
    'train': [[-21278.96485, 137960.0824, 0.2924423218, -0.3864763677,
               0.1219412535, 0.2382758558],
              [175465.012, 268024.8781, 1.436380625, -0.8063824773,
               0.4139919281, 0.3912567198],
              [16250.98493, 329877.4025, 7.30120182, 0.6199501753,
               2.157760143, 1.731358528],
              [168204.7715, 406892.703, 5.056810379, 0.5714506507,
               -0.2174623013, -0.7278193235]]
}
# (S_5, S_4, S_3) at 1/32, 1/16, 1/8 (the original's ``Ss``)
GOLDEN_LOW = {
    'eval': [[156.3302247, 349.4453823, 1.276955366, 0.02373886108,
              -0.7228086591, 3.84848094],
             [5.443466455, 1734.304465, 7.162662506, 0.656371057,
              1.288528919, 4.637075424],
             [2449.507301, 8235.822871, 4.917925835, 0.7031656504,
              -1.034725189, 1.465537071]],
    'train': [[171.3525507, 356.7856842, 1.436380625, 0.04128044844,
               0.4139919281, 3.751013279],
              [63.48040959, 1745.750466, 7.30120182, 0.6752771735,
               2.157760143, 4.394351959],
              [2628.199554, 8299.61873, 5.056810379, 0.7195447683,
               -0.2174623013, 1.123214602]]
}


@torch.no_grad()
@pytest.mark.parametrize('mode', ['eval', 'train'])
def test_golden(mode):
    m = fill_like_sali_(SINetV2Decoder(32), 'decode_head.decoder.')
    m.train(mode == 'train')
    feats = [
        seeded_randn(2, 32, s, s, seed=6 + i)
        for i, s in enumerate((40, 20, 10))
    ]
    low = m(feats)
    assert [tuple(o.shape[2:]) for o in low] == [(40, 40), (10, 10),
                                                 (20, 20), (40, 40)]
    for out, golden in zip(low[1:], GOLDEN_LOW[mode]):
        assert_summary(out, golden)
    up = m.upsample_predictions(low)
    assert all(o.shape == (2, 1, 320, 320) for o in up)
    for out, golden in zip(up, GOLDEN_UP[mode]):
        assert_summary(out, golden)


def test_scale_factor_resizing_and_backward():
    m = SINetV2Decoder(8)
    # 1/8 map of 12 px (input 96, not a multiple of 32): 0.25 -> 3, x2 -> 6
    feats = [
        torch.randn(1, 8, s, s, requires_grad=True) for s in (12, 6, 3)
    ]
    s_g, s_5, s_4, s_3 = m(feats)
    assert [o.shape[-1] for o in (s_g, s_5, s_4, s_3)] == [12, 3, 6, 12]
    up = m.upsample_predictions((s_g, s_5, s_4, s_3))
    assert [o.shape[-1] for o in up] == [96, 96, 96, 96]
    sum(o.sum() for o in up).backward()
    assert all(f.grad.abs().sum() > 0 for f in feats)
    with pytest.raises(ValueError, match='3 feature maps'):
        m(feats[:2])
    with pytest.raises(ValueError, match='expected 4 maps'):
        m.upsample_predictions(up[:3])
