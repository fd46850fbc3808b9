"""ResNet18OS8: golden output of MS-TFAL's ResNet18_OS8 (commit 538475e,
``/tmp/m1_golden/golden.py``, see ``_mstfal_fill.py``), ImageNet loading of
the first stages only, norm_eval."""
import pytest
import torch

from mmvidseg.models.backbones import ResNet18OS8

from .._mstfal_fill import build_filled, seeded_input, summary

# golden.py: net.resnet(x[:1]) in eval mode
EVAL_FEATURE = (1388614.375, 1388614.375, [
    14.234172821044922, 35.415287017822266, 93.75588989257812,
    14.187206268310547, 0.0
])


def test_golden_eval():
    backbone, _ = build_filled()
    backbone.eval()
    with torch.no_grad():
        feats = backbone(seeded_input()[:1])
    assert isinstance(feats, tuple) and len(feats) == 1
    assert feats[0].shape == (1, 512, 8, 10)
    total, abs_total, elems = summary(feats[0])
    assert total == pytest.approx(EVAL_FEATURE[0], rel=1e-5)
    assert abs_total == pytest.approx(EVAL_FEATURE[1], rel=1e-5)
    assert elems == pytest.approx(EVAL_FEATURE[2], rel=1e-5, abs=1e-5)


def test_both_convs_dilated_and_odd_size():
    backbone = ResNet18OS8()
    for stage, d in ((backbone.layer4, 2), (backbone.layer5, 4)):
        for block in stage:
            assert block.conv1.dilation == block.conv2.dilation == (d, d)
            assert block.conv1.stride == (1, 1)
    assert backbone.layer4[0].downsample is not None
    assert backbone.layer4[1].downsample is None
    with torch.no_grad():
        out = backbone.eval()(torch.randn(1, 3, 33, 47))[0]
    assert out.shape == (1, 512, 5, 6)


def _torchvision_like(seed):
    """A torchvision ResNet-18 state dict: our stem/layer1/layer2 names plus
    ImageNet layer3/layer4/fc keys that must be ignored."""
    g = torch.Generator().manual_seed(seed)
    state = {k: torch.randn(v.shape, generator=g) if v.is_floating_point()
             else v.clone()
             for k, v in ResNet18OS8().state_dict().items()
             if k.split('.')[0] in ('conv1', 'bn1', 'layer1', 'layer2')}
    state['layer3.0.conv1.weight'] = torch.randn(256, 128, 3, 3)
    state['layer4.0.conv1.weight'] = torch.randn(512, 256, 3, 3)
    state['fc.weight'] = torch.randn(1000, 512)
    return state


def test_pretrained_loads_first_stages_only(tmp_path):
    path = tmp_path / 'resnet18.pth'
    state = _torchvision_like(1)
    torch.save(state, path)
    torch.manual_seed(0)
    backbone = ResNet18OS8(init_cfg=dict(type='Pretrained',
                                         checkpoint=str(path)))
    layer4_before = backbone.layer4[0].conv1.weight.clone()
    backbone.init_weights()
    torch.testing.assert_close(backbone.conv1.weight, state['conv1.weight'])
    torch.testing.assert_close(backbone.layer2[1].bn2.running_var,
                               state['layer2.1.bn2.running_var'])
    torch.testing.assert_close(backbone.layer4[0].conv1.weight,
                               layer4_before)
    del state['layer2.0.downsample.0.weight']
    torch.save(state, path)
    with pytest.raises(KeyError, match='resnet18.pth lacks'):
        ResNet18OS8(init_cfg=dict(type='Pretrained',
                                  checkpoint=str(path))).init_weights()


def test_norm_eval_and_bad_dilations():
    backbone = ResNet18OS8(norm_eval=True).train()
    assert backbone.training and not backbone.bn1.training
    assert not backbone.layer5[1].bn2.training
    with pytest.raises(ValueError, match='dilations'):
        ResNet18OS8(dilations=(2, 4, 8))
