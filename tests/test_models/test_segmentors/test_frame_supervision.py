"""Per-frame supervision of VideoEncoderDecoder (train_cfg.supervise)."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import MODELS

N, T, HW = 2, 4, (32, 32)


def _model(cfg_fn, avg_non_ignore=False, aux=True):
    cfg = cfg_fn(temporal=False)
    cfg['train_cfg'] = dict(supervise='all_frames')
    cfg['decode_head']['loss_decode'] = dict(
        type='CrossEntropyLoss', avg_non_ignore=avg_non_ignore)
    if not aux:
        cfg.pop('auxiliary_head')
    torch.manual_seed(0)
    # eval(): BN uses running statistics, so frames do not interact and the
    # loss can be recomputed frame by frame
    return MODELS.build(cfg).eval()


def _samples(supervised=((1, 1, 0, 1), (1, 0, 1, 1)), weights=(0.5, 2.0),
             pixel=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    out = []
    for i in range(N):
        s = SegDataSample()
        seg = torch.randint(0, 3, (T, *HW), generator=g)
        seg[:, :4] = 255  # some ignored pixels
        s.gt_clip_seg = PixelData(data=seg)
        s.gt_sem_seg = PixelData(data=seg[-1:].clone())
        if pixel and i == 0:
            s.gt_clip_weight = PixelData(
                data=torch.rand(T, *HW, generator=g) * 2)
        meta = dict(key_index=T - 1, video_id=f'v{i}', frame_id=3,
                    supervised=[bool(x) for x in supervised[i]],
                    clip_bounds=[(0, 2), (2, 4)])
        if weights is not None:
            meta['loss_weight'] = weights[i]
        s.set_metainfo(meta)
        out.append(s)
    return out


def _direct_ce(model, x, samples, avg_non_ignore=False):
    """sum(w * CE) / D over the supervised frames, computed by hand."""
    logits = model.forward_all_frames(x, resize_to_input=False)
    logits = F.interpolate(logits.flatten(0, 1), size=HW, mode='bilinear',
                           align_corners=False)
    labels = torch.cat([s.gt_clip_seg.data for s in samples])
    ce = F.cross_entropy(logits, labels, ignore_index=255, reduction='none')
    w = torch.ones_like(ce)
    for i, s in enumerate(samples):
        w[i * T:(i + 1) * T] *= s.metainfo.get('loss_weight', 1.0)
        if 'gt_clip_weight' in s:
            w[i * T:(i + 1) * T] *= s.gt_clip_weight.data
    rows = torch.tensor([f for s in samples for f in s.supervised])
    ce, w, labels = ce[rows], w[rows], labels[rows]
    denom = (labels != 255).sum() if avg_non_ignore else labels.numel()
    return (ce * w).sum() / denom


@pytest.mark.parametrize('avg_non_ignore', [False, True])
def test_loss_equals_weighted_per_frame_ce(tiny_model_cfg, avg_non_ignore):
    model = _model(tiny_model_cfg, avg_non_ignore)
    x = torch.randn(N, T, 3, *HW)
    samples = _samples()
    losses = model.loss(x, samples)
    assert {'decode.loss_ce', 'decode.acc_seg', 'aux.loss_ce',
            'aux.acc_seg'} <= set(losses)
    expected = _direct_ce(model, x, samples, avg_non_ignore)
    assert torch.allclose(losses['decode.loss_ce'], expected, atol=1e-6)
    # without any weight the path is mmseg's plain per-frame CE
    plain = _samples(weights=None, pixel=False)
    assert torch.allclose(model.loss(x, plain)['decode.loss_ce'],
                          _direct_ce(model, x, plain, avg_non_ignore),
                          atol=1e-6)


def test_zero_sample_weight_removes_the_sample(tiny_model_cfg):
    model = _model(tiny_model_cfg, aux=False)
    x = torch.randn(N, T, 3, *HW, requires_grad=True)
    samples = _samples(weights=(1.0, 0.0), pixel=False)
    loss = model.loss(x, samples)['decode.loss_ce']
    loss.backward()
    assert x.grad[0].abs().sum() > 0 and x.grad[1].abs().sum() == 0
    # equal to the same batch where sample 1 is all ignore_index
    ignored = _samples(weights=(1.0, 1.0), pixel=False)
    ignored[1].gt_clip_seg.data[:] = 255
    other = model.loss(x, ignored)['decode.loss_ce']
    assert torch.allclose(loss, other, atol=1e-6)
    # ... and independent of sample 1's labels
    relabelled = _samples(weights=(1.0, 0.0), pixel=False, seed=1)
    relabelled[0].gt_clip_seg.data[:] = samples[0].gt_clip_seg.data
    assert torch.allclose(loss, model.loss(x, relabelled)['decode.loss_ce'],
                          atol=1e-6)


def test_pixel_weights_follow_the_formula(tiny_model_cfg):
    model = _model(tiny_model_cfg, aux=False)
    x = torch.randn(N, T, 3, *HW)
    base = model.loss(x, _samples(weights=None, pixel=False))
    doubled = _samples(weights=None, pixel=False)
    for s in doubled:
        s.gt_clip_weight = PixelData(data=torch.full((T, *HW), 2.0))
    assert torch.allclose(model.loss(x, doubled)['decode.loss_ce'],
                          2 * base['decode.loss_ce'], atol=1e-6)
    # weight 0 on the top half == top half ignored (denominator unchanged)
    half = _samples(weights=None, pixel=False)
    masked = _samples(weights=None, pixel=False)
    for h, m in zip(half, masked):
        w = torch.ones(T, *HW)
        w[:, :16] = 0
        h.gt_clip_weight = PixelData(data=w)
        m.gt_clip_seg.data[:, :16] = 255
    assert torch.allclose(model.loss(x, half)['decode.loss_ce'],
                          model.loss(x, masked)['decode.loss_ce'], atol=1e-6)
    assert not torch.allclose(model.loss(x, half)['decode.loss_ce'],
                              base['decode.loss_ce'])


def test_only_supervised_frames_are_run_and_supervised(tiny_model_cfg):
    model = _model(tiny_model_cfg)
    x = torch.randn(N, T, 3, *HW)
    calls = []
    orig = model.backbone.forward
    model.backbone.forward = lambda inp: calls.append(inp.shape[0]) or orig(
        inp)
    samples = _samples()
    loss = model.loss(x, samples)['decode.loss_ce']
    assert calls == [6]  # 3 + 3 supervised frames, one backbone pass
    # labels of unsupervised frames do not matter
    for s in samples:
        for t, sup in enumerate(s.supervised):
            if not sup:
                s.gt_clip_seg.data[t] = 0
    assert torch.allclose(loss, model.loss(x, samples)['decode.loss_ce'])
    # nothing supervised: zero losses that still backpropagate
    model.train()
    none = _samples(supervised=((0, ) * T, (0, ) * T))
    losses = model.loss(x, none)
    assert losses['decode.loss_ce'] == 0 and losses['aux.loss_ce'] == 0
    losses['decode.loss_ce'].backward()
    assert model.decode_head.conv_seg.weight.grad is not None


def test_forward_all_frames(tiny_model_cfg):
    model = _model(tiny_model_cfg)
    x = torch.randn(N, T, 3, *HW)
    with torch.no_grad():
        out = model.forward_all_frames(x)
        assert out.shape == (N, T, 3, *HW)
        small = model.forward_all_frames(x, resize_to_input=False)
        assert small.shape == (N, T, 3, 4, 4)
        # frames are independent: frame t alone gives the same logits, and
        # the key-frame path (_forward) agrees with it
        assert torch.allclose(model.forward_all_frames(x[:, 1:2])[:, 0],
                              out[:, 1], atol=1e-5)
        key = model._forward(x, _samples())
        assert torch.allclose(key, small[:, T - 1], atol=1e-5)


def test_errors(tiny_model_cfg):
    cfg = tiny_model_cfg()
    cfg['train_cfg'] = dict(supervise='all_frames')
    with pytest.raises(ValueError, match='needs a per-frame decode head'):
        MODELS.build(cfg)
    cfg['train_cfg'] = dict(supervise='every_frame')
    with pytest.raises(ValueError, match='supervise must be one of'):
        MODELS.build(cfg)
    temporal = MODELS.build(tiny_model_cfg())
    with pytest.raises(ValueError, match='forward_all_frames needs'):
        temporal.forward_all_frames(torch.randn(1, 2, 3, *HW))
    model = _model(tiny_model_cfg)
    x = torch.randn(N, T, 3, *HW)
    samples = _samples()
    samples[1].set_metainfo(dict(loss_weight=-1))
    with pytest.raises(ValueError, match=r"loss_weight of sample 'v1'/3"):
        model.loss(x, samples)
    samples = _samples()
    del samples[0].gt_clip_seg
    with pytest.raises(KeyError, match=r"needs gt_clip_seg .*'v0'/3"):
        model.loss(x, samples)
    samples = _samples()
    samples[0].gt_clip_weight = PixelData(data=torch.ones(T, 8, 8))
    with pytest.raises(ValueError, match='gt_clip_weight of sample'):
        model.loss(x, samples)
