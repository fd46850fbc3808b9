import pytest
import torch

from mmvidseg.models.converters import (convert_tmanet_checkpoint,
                                        mmvidseg_to_tmanet, tmanet_to_mmvidseg)
from mmvidseg.registry import MODELS

from ...conftest import make_tiny_model_cfg


def _model():
    cfg = make_tiny_model_cfg()
    cfg['decode_head'] = dict(
        type='TMAHead', num_memory_frames=2, key_channels=8,
        value_channels=16, in_channels=32, in_index=1, channels=24,
        num_classes=3, dropout_ratio=0.1, norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss'))
    torch.manual_seed(0)
    return MODELS.build(cfg)


def _original_layout(ours):
    """Build the state dict an mmseg-0.7 TMANet of this shape would have,
    independently of the converter: SequenceConv keeps one list per layer
    (memory_key_conv.<layer>) holding one ConvModule per slot."""
    out = {}
    for key, value in ours.items():
        parts = key.split('.')
        if parts[:2] in (['decode_head', 'memory_key_convs'],
                         ['decode_head', 'memory_value_convs']):
            slot, layer = parts[2], parts[3]
            name = parts[1][:-1]  # memory_key_conv
            key = '.'.join(['decode_head', name, layer, slot] + parts[4:])
        out[key] = value.clone()
    return out


def test_original_keys_load_after_conversion():
    model = _model()
    ours = model.state_dict()
    original = _original_layout(ours)
    assert 'decode_head.memory_key_conv.1.0.conv.weight' in original
    assert 'decode_head.memory_value_conv.0.1.bn.running_mean' in original
    converted = tmanet_to_mmvidseg(original)
    fresh = _model()
    fresh.load_state_dict(converted, strict=True)
    for k, v in ours.items():
        assert torch.equal(fresh.state_dict()[k], v), k
    # round trip
    back = mmvidseg_to_tmanet(converted)
    assert list(back) == list(original)
    assert all(torch.equal(back[k], original[k]) for k in original)


def test_checkpoint_meta_and_errors():
    original = _original_layout(_model().state_dict())
    ckpt = convert_tmanet_checkpoint(
        dict(state_dict=original,
             meta=dict(CLASSES=('a', 'b', 'c'), PALETTE=[(1, 2, 3)] * 3)))
    assert ckpt['meta']['dataset_meta']['classes'] == ('a', 'b', 'c')
    with pytest.raises(KeyError, match='already uses mmvidseg names'):
        tmanet_to_mmvidseg(ckpt['state_dict'])
    with pytest.raises(KeyError, match='not a TMANet checkpoint'):
        tmanet_to_mmvidseg({'backbone.conv.weight': torch.zeros(1)})
