import pytest
import torch

from mmvidseg.models import TemporalAttentionHead, TMAHead
from mmvidseg.models.decode_heads import BaseTemporalHead
from mmvidseg.registry import MODELS

HEAD = dict(in_channels=8, channels=8, num_classes=3, dropout_ratio=0.0,
            norm_cfg=dict(type='BN'))


class _AnyClipHead(BaseTemporalHead):
    """Minimal temporal head: classifies the mean over time."""

    def forward(self, inputs):
        x = self.check_clip(self._transform_inputs(inputs))
        return self.cls_seg(x.mean(1))


def test_heads_derive_from_base():
    tma = TMAHead(num_memory_frames=2, key_channels=4, value_channels=4,
                  **HEAD)
    attn = TemporalAttentionHead(key_channels=4, value_channels=4, **HEAD)
    assert isinstance(tma, BaseTemporalHead) and tma.num_memory_frames == 2
    assert isinstance(attn, BaseTemporalHead)
    assert attn.num_memory_frames is None  # any T
    # the contract's shape checks
    with pytest.raises(ValueError, match=r'TMAHead .*expects \(N, 3, C'):
        tma([torch.randn(1, 2, 8, 4, 4)])
    with pytest.raises(ValueError, match='TemporalAttentionHead expects '
                       r'clip features \(N, T, C, h, w\)'):
        attn([torch.randn(1, 8, 4, 4)])
    for t in (1, 4):
        assert attn([torch.randn(2, t, 8, 4, 4)]).shape == (2, 3, 4, 4)


def _segmentor(tiny_model_cfg, head):
    cfg = tiny_model_cfg()
    cfg['decode_head'] = head
    return MODELS.build(cfg)


def test_segmentor_uses_isinstance_and_num_memory_frames(tiny_model_cfg):
    head = dict(HEAD, in_channels=32, in_index=1)
    model = _segmentor(tiny_model_cfg,
                       dict(type='FCNHead', num_convs=1, **head))
    # an attribute is not enough to be temporal: the base class is
    model.decode_head.is_temporal = True
    assert not model.head_is_temporal
    model.enable_streaming()
    assert model.stream_cfg == dict(num_ref_frames=0)

    model = _segmentor(tiny_model_cfg, dict(
        type='TMAHead', num_memory_frames=3, key_channels=4,
        value_channels=4, **head))
    assert model.head_is_temporal
    model.enable_streaming()
    assert model.stream_cfg == dict(num_ref_frames=3)

    model = _segmentor(tiny_model_cfg, dict(
        type='TemporalAttentionHead', key_channels=4, value_channels=4,
        **head))
    model.decode_head = _AnyClipHead(**head)
    assert model.head_is_temporal
    with pytest.raises(ValueError, match='does not define num_memory_frames'):
        model.enable_streaming()
    model.enable_streaming(2)
    assert model.stream_cfg == dict(num_ref_frames=2)
