"""convert_stcn_checkpoint and tools/model_converters/stcn2mmvidseg.py.

The official layout (hkchengrex/STCN eb83102, model/network.py STCN(
single_object=False)) was listed by building that network in /tmp (a
torchvision stub giving torchvision's bias-free ResNet-50): 405 tensors,
sha1 of the sorted ``name:shape`` lines below. The kaylode/ivos layout
(276ee41, STCNTrain('resnet50-mod', 'resnet18-mod')) is checked in
test_stcn.py (442 tensors), whose golden tests also check the conversion
numerically (conv biases folded into the batch norms).
"""
import pytest
import torch

from mmvidseg.models.converters import (convert_stcn_checkpoint,
                                        stcn_checkpoint_layout)
from mmvidseg.registry import MODELS

from ...test_tools._run import run, tool
from .._stcn_fill import TINY_STCN, filled_state, layout_hash, original_shapes

OFFICIAL_KEYS = 405
OFFICIAL_SHA1 = '837aa9ca9b7cdf7db9fa6d3792a925560c673cb6'
#: Some literal names of the official checkpoint.
OFFICIAL_NAMES = [
    'key_encoder.conv1.weight', 'key_encoder.res2.0.conv1.weight',
    'key_encoder.layer3.5.bn3.running_var', 'value_encoder.conv1.bias',
    'value_encoder.layer3.1.conv2.bias', 'value_encoder.fuser.block1.'
    'downsample.weight', 'value_encoder.fuser.attention.ChannelGate.mlp.1.'
    'weight', 'value_encoder.fuser.attention.SpatialGate.spatial.conv.bias',
    'key_proj.key_proj.weight', 'key_comp.bias', 'decoder.up_8_4.skip_conv.'
    'weight', 'decoder.pred.bias'
]


@pytest.fixture(scope='module')
def official():
    model = MODELS.build(dict(type='STCN', fuser_attention=True))
    shapes = original_shapes(model, 'official')
    assert len(shapes) == OFFICIAL_KEYS
    assert layout_hash(shapes) == OFFICIAL_SHA1
    assert set(OFFICIAL_NAMES) <= set(shapes)
    return model, filled_state(shapes)


def test_official_layout_loads_strictly(official):
    model, src = official
    wrapped = {f'module.{k}': v for k, v in src.items()}
    assert stcn_checkpoint_layout(src) == 'official'
    state = convert_stcn_checkpoint(wrapped)
    model.load_state_dict(state, strict=True)
    assert torch.equal(state['key_encoder.layer1.0.conv1.weight'],
                       src['key_encoder.res2.0.conv1.weight'])
    assert torch.equal(
        state['value_encoder.fuser.attention.channel_mlp.2.weight'],
        src['value_encoder.fuser.attention.ChannelGate.mlp.3.weight'])
    assert torch.equal(state['key_proj.weight'],
                       src['key_proj.key_proj.weight'])
    # value-encoder conv biases folded into the next batch norm
    torch.testing.assert_close(
        state['value_encoder.backbone.layer2.0.bn1.running_mean'],
        src['value_encoder.layer2.0.bn1.running_mean'] -
        src['value_encoder.layer2.0.conv1.bias'])
    torch.testing.assert_close(
        state['value_encoder.backbone.layer2.0.downsample.1.running_mean'],
        src['value_encoder.layer2.0.downsample.1.running_mean'] -
        src['value_encoder.layer2.0.downsample.0.bias'])
    # the key encoder is torchvision's: no bias, running means as they are
    assert torch.equal(state['key_encoder.bn1.running_mean'],
                       src['key_encoder.bn1.running_mean'])
    assert stcn_checkpoint_layout(state) == 'mmvidseg'
    assert convert_stcn_checkpoint(state).keys() == state.keys()


def test_drop_attention_heads_only_and_single_object(official):
    _, src = official
    plain = convert_stcn_checkpoint(src, drop_attention=True)
    MODELS.build(dict(type='STCN')).load_state_dict(plain, strict=True)
    heads = convert_stcn_checkpoint(src, drop_attention=True,
                                    heads_only=True)
    assert {k.split('.')[0] for k in heads} == {'key_proj', 'key_comp',
                                                'decoder', 'value_encoder'}
    assert all(k.startswith('value_encoder.fuser.block')
               for k in heads if k.startswith('value_encoder'))
    # a single-object (static pre-training) value encoder: 4 channels
    single = dict(src)
    single['value_encoder.conv1.weight'] = src[
        'value_encoder.conv1.weight'][:, :4].clone()
    padded = convert_stcn_checkpoint(single)[
        'value_encoder.backbone.conv1.weight']
    assert padded.shape == (64, 5, 7, 7)
    assert torch.equal(padded[:, :4], single['value_encoder.conv1.weight'])
    extra = padded[:, 4].reshape(64, 49)
    torch.testing.assert_close(extra.T @ extra, torch.eye(49),
                               atol=1e-5, rtol=0)  # orthogonal columns
    again = convert_stcn_checkpoint(single)['value_encoder.backbone.conv1.'
                                            'weight']
    assert torch.equal(again, padded)  # seeded
    zeros = convert_stcn_checkpoint(single, pad='zeros')[
        'value_encoder.backbone.conv1.weight']
    assert not zeros[:, 4].any()
    with pytest.raises(ValueError, match="pad must be"):
        convert_stcn_checkpoint(single, pad='copy')


def test_conversion_errors():
    with pytest.raises(ValueError, match='not an STCN checkpoint'):
        convert_stcn_checkpoint({'backbone.conv1.weight': torch.zeros(1)})
    model = MODELS.build(TINY_STCN)
    src = filled_state(original_shapes(model, 'ivos'))
    del src['key_encoder.model.layer1.0.bn2.running_mean']
    with pytest.raises(KeyError, match='layer1.0.bn2.running_mean'):
        convert_stcn_checkpoint(src)


def test_tool(tmp_path):
    model = MODELS.build(dict(TINY_STCN, fuser_attention=True))
    src = filled_state(original_shapes(model, 'official'))
    path = tmp_path / 'stcn.pth'
    torch.save({'model': {f'module.{k}': v for k, v in src.items()}}, path)
    out = tmp_path / 'out.pth'
    proc = run([tool('model_converters/stcn2mmvidseg.py'), str(path),
                str(out)])
    assert 'official STCN' in proc.stdout
    ckpt = torch.load(out, map_location='cpu', weights_only=True)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    assert ckpt['meta']['converted_from'] == 'STCN (official)'
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'fc.weight': torch.zeros(2)}}, bad)
    proc = run([tool('model_converters/stcn2mmvidseg.py'), str(bad),
                str(tmp_path / 'x.pth')], check=False)
    assert proc.returncode == 1
    assert 'bad.pth: not an STCN checkpoint' in proc.stderr
    assert 'Traceback' not in proc.stderr
