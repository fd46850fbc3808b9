import re

import pytest
import torch

from mmvidseg.models.converters import load_extractor_weights
from mmvidseg.registry import MODELS

RESNET = dict(type='ResNet', depth=18, num_stages=3, strides=(1, 2, 1),
              dilations=(1, 1, 1), out_indices=(2, ), style='pytorch')
VIT = dict(type='VisionTransformer', img_size=(32, 32), patch_size=8,
           embed_dims=16, num_layers=2, num_heads=2, qkv_bias=True,
           patch_bias=True, out_indices=(1, ), final_norm=True,
           norm_cfg=dict(type='LN', eps=1e-6))


def _random_like(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) if v.is_floating_point()
            else v.clone() for k, v in model.state_dict().items()}


def _save(tmp_path, obj):
    path = str(tmp_path / 'ckpt.pth')
    torch.save(obj, path)
    return path


@pytest.mark.parametrize('fmt,prefix,wrapper', [
    ('crw', 'encoder.model.', 'model'),
    ('moco', 'module.encoder_q.', 'state_dict'),
    ('simsiam', 'module.encoder.', 'state_dict'),
    ('torchvision', '', None),
])
def test_resnet_formats(tmp_path, fmt, prefix, wrapper):
    model = MODELS.build(RESNET)
    weights = _random_like(model)
    state = {prefix + k: v for k, v in weights.items()}
    # what the published files also hold, and the extractor does not use
    state[prefix + 'layer4.0.conv1.weight'] = torch.zeros(512, 256, 3, 3)
    state[prefix + 'fc.weight'] = torch.zeros(1000, 512)
    if fmt == 'crw':
        state['selfsim_fc.0.weight'] = torch.zeros(128, 256)
    path = _save(tmp_path, {wrapper: state} if wrapper else state)
    load_extractor_weights(model, path, fmt)
    for k, v in weights.items():
        assert torch.equal(model.state_dict()[k], v), k


def _to_timm(key):
    rules = [(r'^patch_embed\.projection\.', 'patch_embed.proj.'),
             (r'^layers\.(\d+)\.ln1\.', r'blocks.\1.norm1.'),
             (r'^layers\.(\d+)\.ln2\.', r'blocks.\1.norm2.'),
             (r'^layers\.(\d+)\.attn\.attn\.in_proj_weight$',
              r'blocks.\1.attn.qkv.weight'),
             (r'^layers\.(\d+)\.attn\.attn\.in_proj_bias$',
              r'blocks.\1.attn.qkv.bias'),
             (r'^layers\.(\d+)\.attn\.attn\.out_proj\.',
              r'blocks.\1.attn.proj.'),
             (r'^layers\.(\d+)\.ffn\.layers\.0\.0\.', r'blocks.\1.mlp.fc1.'),
             (r'^layers\.(\d+)\.ffn\.layers\.1\.', r'blocks.\1.mlp.fc2.'),
             (r'^ln1\.', 'norm.')]
    for pattern, repl in rules:
        new = re.sub(pattern, repl, key)
        if new != key:
            return new
    return key


def test_timm_vit_mae_checkpoint(tmp_path):
    model = MODELS.build(VIT)
    weights = _random_like(model)
    state = {_to_timm(k): v for k, v in weights.items()}
    state['decoder_embed.weight'] = torch.zeros(8, 16)  # MAE decoder
    state['mask_token'] = torch.zeros(1, 1, 8)
    path = _save(tmp_path, {'model': state})
    load_extractor_weights(model, path, 'timm_vit')
    for k, v in weights.items():
        assert torch.equal(model.state_dict()[k], v), k
    # patch tokens for any input size (interpolated position embeddings)
    out = model(torch.randn(1, 3, 40, 72))[0]
    assert out.shape == (1, 16, 5, 9)


def test_mismatched_keys_are_named(tmp_path):
    model = MODELS.build(RESNET)
    state = {'encoder.model.' + k: v for k, v in
             _random_like(model).items() if not k.startswith('layer3')}
    with pytest.raises(KeyError, match=r'missing \[.layer3'):
        load_extractor_weights(model, _save(tmp_path, {'model': state}),
                               'crw')
    with pytest.raises(KeyError, match='not a MoCo checkpoint'):
        load_extractor_weights(model, _save(tmp_path, state), 'moco')
    with pytest.raises(KeyError, match='unknown checkpoint format'):
        load_extractor_weights(model, _save(tmp_path, state), 'clip')
