"""SlicePositionHead: the slice position reaches the classifier in the
loss, predict and tensor paths of an mmseg EncoderDecoder."""
import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import MODELS
from mmvidseg.utils import register_all_modules

register_all_modules()

K, H, W = 3, 16, 16


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Tiny tensors: one thread is much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _segmentor(head_type='FCNHead'):
    head = dict(type=head_type, in_channels=8, in_index=0, channels=4,
                num_classes=K, dropout_ratio=0.0, align_corners=False,
                norm_cfg=dict(type='BN'))
    if head_type == 'FCNHead':
        head.update(num_convs=1, concat_input=False)
    else:
        head.update(dilations=(1, 2), c1_in_channels=8, c1_channels=4,
                    in_index=1, in_channels=16)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='EncoderDecoder',
        backbone=dict(type='ResNetV1c', depth=18, stem_channels=4,
                      base_channels=8, num_stages=2, strides=(1, 2),
                      dilations=(1, 1), out_indices=(0, 1)),
        decode_head=dict(type='SlicePositionHead', head=head),
        test_cfg=ConfigDict(mode='whole')))
    model.init_weights()
    # make the position channel matter
    with torch.no_grad():
        model.decode_head.head.conv_seg.conv.weight[:, -1, 0, 0] = (
            torch.arange(K) - 1.0)
    return model


def _samples(positions):
    out = []
    for p in positions:
        s = SegDataSample(metainfo=dict(slice_position=p, img_shape=(H, W),
                                        ori_shape=(H, W)))
        s.gt_sem_seg = PixelData(data=torch.zeros(1, H, W, dtype=torch.long))
        out.append(s)
    return out


@pytest.mark.parametrize('head_type', ['FCNHead',
                                       'DepthwiseSeparableASPPHead'])
def test_position_reaches_the_classifier(head_type):
    model = _segmentor(head_type)
    conv = model.decode_head.head.conv_seg
    assert conv.conv.in_channels == 5 and conv.conv.out_channels == K
    assert model.num_classes == K and model.align_corners is False
    x = torch.rand(2, 3, H, W)
    model.eval()
    with torch.no_grad():
        low = model.predict(x, _samples([0.0, 0.0]))
        high = model.predict(x, _samples([1.0, 0.0]))
    # sample 0 changes with its position, sample 1 does not
    assert not torch.allclose(low[0].seg_logits.data, high[0].seg_logits.data)
    torch.testing.assert_close(low[1].seg_logits.data,
                               high[1].seg_logits.data)
    # the logit shift is exactly the position weight (1x1 classifier)
    diff = high[0].seg_logits.data - low[0].seg_logits.data
    torch.testing.assert_close(diff, (torch.arange(K) - 1.0)[:, None, None]
                               .expand(K, H, W))
    model.train()
    loss_low = model.loss(x, _samples([0.0, 0.0]))
    loss_high = model.loss(x, _samples([1.0, 1.0]))
    name = 'decode.loss_ce'
    assert loss_low[name].item() != pytest.approx(loss_high[name].item())
    # tensor mode: positions from metas or an enclosing context
    model.eval()
    feats = model.extract_feat(x)
    metas = [s.metainfo for s in _samples([0.5, 0.5])]
    out = model.decode_head(feats, metas)
    with model.decode_head.slice_positions(metas):
        torch.testing.assert_close(model(x, mode='tensor'), out)
    assert conv.positions is None
    with pytest.raises(ValueError, match='no slice positions'):
        model(x, mode='tensor')
    with pytest.raises(ValueError, match='2 slice positions'):
        model.decode_head([f[:1] for f in feats], metas)
    with pytest.raises(KeyError, match='slice_position'):
        model.decode_head(feats, [dict(), dict()])


def test_head_without_conv_seg():
    with pytest.raises(ValueError, match='no conv_seg'):
        MODELS.build(dict(type='SlicePositionHead',
                          head=dict(type='SlicePositionHead',
                                    head=dict(type='FCNHead', in_channels=4,
                                              channels=4, num_classes=2))))
