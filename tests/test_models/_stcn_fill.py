"""STCN test helpers: the deterministic fill of the golden runs, the
original checkpoint layouts rebuilt from our model, a tiny config."""
import hashlib
import math
import zlib

import torch

#: A tiny STCN (ResNet-18 widths / 8) for fast CPU tests.
TINY_RESNET = dict(
    type='ResNet', depth=18, num_stages=3, strides=(1, 2, 2),
    dilations=(1, 1, 1), out_indices=(0, 1, 2), style='pytorch',
    base_channels=8, stem_channels=8)
TINY_STCN = dict(
    type='STCN', key_encoder=TINY_RESNET,
    value_encoder=dict(TINY_RESNET, in_channels=5), key_dim=8, value_dim=16,
    decoder_channels=(16, 8, 8), train_cfg=dict(seed=0))


def fill_value(name, shape):
    """The value of parameter/buffer ``name`` in the golden runs (identical
    to /tmp/stcn_orig/fill.py used with the original code)."""
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    if name.endswith('num_batches_tracked'):
        return torch.zeros(shape, dtype=torch.long)
    if name.endswith('running_var'):
        return torch.rand(shape, generator=g) * 0.5 + 0.75
    if name.endswith('running_mean'):
        return torch.randn(shape, generator=g) * 0.1
    if len(shape) == 1:
        if name.endswith('weight'):
            return 1 + 0.1 * torch.randn(shape, generator=g)
        return 0.05 * torch.randn(shape, generator=g)
    fan_in = math.prod(shape[1:])
    return torch.randn(shape, generator=g) / math.sqrt(fan_in)


def layout_hash(shapes):
    """sha1 of ``name:shape`` lines (sorted), as the golden script."""
    text = '\n'.join(f'{k}:{tuple(v)}' for k, v in sorted(shapes.items()))
    return hashlib.sha1(text.encode()).hexdigest()


def _is_backbone_conv(name, shape):
    return len(shape) == 4 and name.startswith(
        ('key_encoder.', 'value_encoder.backbone.'))


def original_shapes(model, layout):
    """``{name: shape}`` of the ``'ivos'`` or ``'official'`` checkpoint
    matching our model (conv biases of the ``mod_resnet`` encoders added;
    the official key encoder is torchvision's, without biases)."""
    out = {}
    for name, t in model.state_dict().items():
        shape = tuple(t.shape)
        if layout == 'ivos':
            orig = name.replace('key_encoder.', 'key_encoder.model.', 1)
            orig = orig.replace('value_encoder.backbone.',
                                'value_encoder.model.', 1)
            biased = _is_backbone_conv(name, shape)
        else:
            orig = name.replace('key_encoder.layer1.', 'key_encoder.res2.', 1)
            orig = orig.replace('value_encoder.backbone.', 'value_encoder.',
                                1)
            orig = orig.replace('attention.channel_mlp.0.',
                                'attention.ChannelGate.mlp.1.')
            orig = orig.replace('attention.channel_mlp.2.',
                                'attention.ChannelGate.mlp.3.')
            orig = orig.replace('attention.spatial_conv.',
                                'attention.SpatialGate.spatial.conv.')
            biased = _is_backbone_conv(name, shape) and name.startswith(
                'value_encoder.')
        orig = orig.replace('key_proj.', 'key_proj.key_proj.', 1) \
            if orig.startswith('key_proj.') else orig
        out[orig] = shape
        if biased:
            out[orig[:-len('weight')] + 'bias'] = shape[:1]
    return out


def filled_state(shapes):
    """A state dict of the given layout filled by name."""
    return {k: fill_value(k, s) for k, s in shapes.items()}
