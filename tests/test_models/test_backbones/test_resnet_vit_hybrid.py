"""ResNetViTHybrid: ResNet skips + ViT map at stride 16."""
import torch

from mmvidseg.registry import MODELS
from mmvidseg.utils import register_all_modules

register_all_modules()


def test_shapes_and_gradient():
    model = MODELS.build(dict(
        type='ResNetViTHybrid',
        resnet=dict(type='ResNetV1c', depth=18, stem_channels=8,
                    base_channels=8, num_stages=3, strides=(1, 2, 2),
                    dilations=(1, 1, 1), out_indices=(0, 1, 2)),
        vit=dict(type='VisionTransformer', img_size=(4, 4), patch_size=1,
                 in_channels=32, embed_dims=16, num_layers=2, num_heads=2,
                 out_indices=(1, ), with_cls_token=False, final_norm=True)))
    x = torch.rand(2, 3, 64, 96, requires_grad=True)
    outs = model(x)
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 24), (2, 16, 8, 12),
                                              (2, 16, 4, 6)]
    outs[-1].sum().backward()
    assert model.cnn.stem[0].weight.grad.abs().sum() > 0
    assert x.grad.abs().sum() > 0
