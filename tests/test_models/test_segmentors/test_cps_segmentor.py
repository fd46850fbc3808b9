"""CPSSegmentor: CPS loss and ramp against the original, train step,
ensemble prediction, slice position.

Golden values: kaylode/ivos (commit 276ee41) ``source/cps/losses/
cps_loss.py`` ``CPSLoss`` and ``source/cps/utils/ramps.py``
``sigmoid_rampup`` with the theseus v1.0.1 losses it was configured with
(``configs/flare22v2/cps/pipeline.yaml``: sup ``MultiLoss([SemanticCELoss,
LovaszSoftmax])``, unsup ``LovaszSoftmax``, consistency 0.1, ramp-up 200),
run on CPU (cuda helper stubbed) by ``python /tmp/cps_orig/run/golden.py``
on the seeded logits of :func:`_golden_logits` (targets one-hot, as the
original's ``_encode_masks``; ``split_pos`` 2).
"""
import copy

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.models.segmentors.cps_segmentor import sigmoid_rampup
from mmvidseg.registry import MODELS
from mmvidseg.utils import register_all_modules

register_all_modules()

K, H, W = 4, 32, 32


@pytest.fixture(autouse=True, scope='module')
def _one_thread():
    """Tiny tensors: one thread is much faster on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def branch_cfg(channels=8, num_classes=K):
    """A tiny EncoderDecoder (ResNet-18 stem, FCN head)."""
    norm = dict(type='BN', requires_grad=True)
    return dict(
        type='EncoderDecoder',
        backbone=dict(
            type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
            num_stages=2, strides=(1, 2), dilations=(1, 1), out_indices=(1, ),
            norm_cfg=norm),
        decode_head=dict(
            type='FCNHead', in_channels=16, in_index=0, channels=channels,
            num_convs=1, concat_input=False, num_classes=num_classes,
            dropout_ratio=0.0, norm_cfg=norm, align_corners=False))


def cps_cfg(**kwargs):
    cfg = dict(
        type='CPSSegmentor', segmentor1=branch_cfg(), segmentor2=branch_cfg(6),
        data_preprocessor=dict(type='SegDataPreProcessor', mean=[0, 0, 0],
                               std=[255, 255, 255], size=(H, W)))
    cfg.update(kwargs)
    return cfg


def _model(**kwargs):
    torch.manual_seed(0)
    return MODELS.build(cps_cfg(**kwargs))


def _samples(labels, positions=None, ori_shape=(H, W)):
    """Data samples; ``labels[i]`` None -> unlabelled (all 255)."""
    out = []
    for i, lab in enumerate(labels):
        pos = positions[i] if positions is not None else i / 10
        s = SegDataSample(metainfo=dict(
            labelled=lab is not None, slice_position=pos, img_shape=(H, W),
            pad_shape=(H, W), ori_shape=ori_shape))
        data = lab if lab is not None else torch.full((1, H, W), 255)
        s.gt_sem_seg = PixelData(data=data.long())
        out.append(s)
    return out


def _data(seed=0, n_lab=2, n_unl=2):
    g = torch.Generator().manual_seed(seed)
    labels = [torch.randint(0, K, (1, H, W), generator=g)
              for _ in range(n_lab)] + [None] * n_unl
    inputs = [torch.randint(0, 256, (3, H, W), generator=g).float()
              for _ in labels]
    return dict(inputs=inputs, data_samples=_samples(labels))


def _set_iter(i):
    MessageHub.get_current_instance().update_info('iter', i)


# ------------------------------------------------------------- golden
@pytest.mark.parametrize('epoch, expected', [
    (0, 0.0006737946999085467), (1, 0.0007082523558272816),
    (10, 0.0010970998366931477), (25, 0.0021750359344450344),
    (100, 0.028650479686019012), (150, 0.07316156289466419),
    (199, 0.09998750078121746), (200, 0.1), (300, 0.1)])
def test_ramp_golden(epoch, expected):
    # 0.1 * sigmoid_rampup(epoch, 200.0) of the original
    ramp = 0.1 * sigmoid_rampup(epoch, 200.0)
    assert ramp == pytest.approx(expected, rel=1e-12)
    model = _model(epoch_length=7)
    # e = iters // epoch_length (the original's CPSCallbacks)
    for it in (7 * epoch, 7 * epoch + 6):
        weight = model.consistency_weight(it)
        assert weight == pytest.approx(expected, rel=1e-12)
    by_iter = _model(ramp_by='iter', ramp_length=200)
    assert by_iter.consistency_weight(epoch) == pytest.approx(expected,
                                                              rel=1e-12)
    assert sigmoid_rampup(5, 0) == 1.0


def _golden_logits():
    g = torch.Generator().manual_seed(0)
    out1 = torch.randn(4, K, 6, 5, generator=g) * 2
    out2 = torch.randn(4, K, 6, 5, generator=g) * 2
    lab = torch.randint(0, K, (2, 6, 5), generator=g)
    return out1, out2, lab


def _losses_on(model, out1, out2, lab, iteration):
    """``model.loss`` with the branches' outputs replaced by fixed logits."""
    outs = [out1, out2]
    model.branch_logits = lambda k, inputs, samples: outs[k]
    labels = list(lab[:, None]) + [None, None]
    samples = []
    for s in _samples(labels):
        s.gt_sem_seg = PixelData(data=s.gt_sem_seg.data[:, :6, :5])
        samples.append(s)
    _set_iter(iteration)
    return model.loss(torch.zeros(4, 3, 6, 5), samples)


def test_cps_loss_golden():
    out1, out2, lab = _golden_logits()
    # the logits the original saw (sums printed by the golden script)
    assert out1.sum().item() == pytest.approx(84.05951690673828, rel=1e-6)
    assert out2.sum().item() == pytest.approx(-9.36239242553711, rel=1e-5)
    assert lab.sum().item() == 81
    model = _model(epoch_length=10)
    out1.requires_grad_(True)
    out2.requires_grad_(True)
    losses = _losses_on(model, out1, out2, lab, iteration=505)  # epoch 50
    weight = 0.006005467
    assert model.consistency_weight(505) == pytest.approx(weight, rel=1e-6)
    expected = dict(ce1=2.30610013, lovasz1=0.80698645, ce2=2.45988584,
                    lovasz2=0.78744507, cps1=0.7552433, cps2=0.75206178,
                    loss_sup1=3.1130867, loss_sup2=3.2473309)
    for key, value in expected.items():
        assert losses[key].item() == pytest.approx(value, rel=1e-6), key
    assert losses['loss_cps1'].item() == pytest.approx(0.7552433 * weight,
                                                       rel=1e-6)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert total.item() == pytest.approx(6.36946964, rel=1e-6)  # 'Total'
    total.backward()
    # gradients of the original's single backward of the total loss
    assert out1.grad.abs().sum().item() == pytest.approx(1.684241533279419,
                                                         rel=1e-5)
    assert out2.grad.abs().sum().item() == pytest.approx(1.5909900665283203,
                                                         rel=1e-5)
    torch.testing.assert_close(
        out1.grad[0, :, 0, 0],
        torch.tensor([0.00013939494965597987, 0.0165418591350317,
                      -0.016711996868252754, 3.0741459340788424e-05]),
        rtol=1e-4, atol=1e-8)
    torch.testing.assert_close(
        out1.grad[3, :, 1, 2],
        torch.tensor([9.469218866797746e-07, 1.209104198096611e-06,
                      -2.3563368358736625e-06, 2.0031004055454105e-07]),
        rtol=1e-3, atol=1e-10)
    torch.testing.assert_close(
        out2.grad[2, :, 0, 1],
        torch.tensor([8.395452368858969e-07, -4.41410065832315e-06,
                      2.3418259331720037e-08, 3.5511370697349776e-06]),
        rtol=1e-3, atol=1e-10)
    # epoch 200: weight 0.1 ('Total' 6.51114845 in the original)
    losses = _losses_on(model, out1.detach(), out2.detach(), lab, 2000)
    total = sum(v for k, v in losses.items() if k.startswith('loss'))
    assert total.item() == pytest.approx(6.51114845, rel=1e-6)


def test_unsup_single_softmax_option():
    # the original feeds probabilities to a loss that softmaxes again;
    # 'logits' applies softmax once (theseus LovaszSoftmax on the logits:
    # 0.8290647268295288 in the golden script)
    out1, out2, lab = _golden_logits()
    model = _model(epoch_length=10, unsup_input='logits')
    losses = _losses_on(model, out1, out2, lab, iteration=0)
    assert losses['cps1'].item() == pytest.approx(0.8290647268295288,
                                                  rel=1e-6)
    assert losses['loss_sup1'].item() == pytest.approx(3.1130867, rel=1e-6)


# --------------------------------------------------------- train step
def _wrappers(model, lr1=0.1, lr2=0.1):
    return OptimWrapperDict(
        segmentor1=OptimWrapper(torch.optim.SGD(model.segmentor1.parameters(),
                                                lr=lr1)),
        segmentor2=OptimWrapper(torch.optim.SGD(model.segmentor2.parameters(),
                                                lr=lr2)))


def _params(module):
    return [p.detach().clone() for p in module.parameters()]


def test_train_step_gradient_is_the_originals():
    """SGD lr 1: each branch moves by minus its gradient of the original's
    single backward of ``sum_k (L_sup,k + lambda L_cps,k)``."""
    model = _model(ramp_by='iter', ramp_length=10).train()
    _set_iter(7)
    data = _data()
    reference = copy.deepcopy(model)
    batch = reference.data_preprocessor(copy.deepcopy(data), True)
    losses = reference.loss(batch['inputs'], batch['data_samples'])
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    before = [_params(model.segmentor1), _params(model.segmentor2)]
    log = model.train_step(copy.deepcopy(data), _wrappers(model, 1., 1.))
    for k, name in enumerate(('segmentor1', 'segmentor2')):
        moved = [b - p for b, p in zip(before[k],
                                       getattr(model, name).parameters())]
        grads = [p.grad if p.grad is not None else torch.zeros_like(p)
                 for p in getattr(reference, name).parameters()]
        for m, g in zip(moved, grads):
            torch.testing.assert_close(m, g, rtol=1e-4, atol=1e-6)
    assert log['cps_weight'].item() == pytest.approx(
        0.1 * sigmoid_rampup(7, 10))
    for key in ('loss', 'loss_sup1', 'loss_cps1', 'loss_sup2', 'loss_cps2',
                'cps1', 'cps2', 'ce1', 'lovasz1', 'ce2', 'lovasz2'):
        assert key in log, key
    assert log['loss'].item() == pytest.approx(sum(
        losses[k].item() for k in losses if k.startswith('loss')), rel=1e-5)


def test_train_step_each_branch_only_by_its_optimiser():
    model = _model(ramp_by='iter').train()
    _set_iter(0)
    before = [_params(model.segmentor1), _params(model.segmentor2)]
    model.train_step(_data(), _wrappers(model, lr1=0.1, lr2=0.))
    changed1 = any(not torch.equal(b, p) for b, p in zip(
        before[0], model.segmentor1.parameters()))
    same2 = all(torch.equal(b, p) for b, p in zip(
        before[1], model.segmentor2.parameters()))
    assert changed1 and same2
    # and the other way round; gradients are cleared after each step
    before = [_params(model.segmentor1), _params(model.segmentor2)]
    model.train_step(_data(1), _wrappers(model, lr1=0., lr2=0.1))
    assert all(torch.equal(b, p) for b, p in zip(
        before[0], model.segmentor1.parameters()))
    assert any(not torch.equal(b, p) for b, p in zip(
        before[1], model.segmentor2.parameters()))
    assert all(p.grad is None or not p.grad.any()
               for p in model.parameters())


def test_train_step_one_stream_only():
    model = _model(ramp_by='iter').train()
    _set_iter(3)
    log = model.train_step(_data(n_lab=2, n_unl=0), _wrappers(model))
    assert log['loss_cps1'].item() == 0 and log['loss_sup1'].item() > 0
    log = model.train_step(_data(n_lab=0, n_unl=2), _wrappers(model))
    assert log['loss_sup2'].item() == 0 and log['cps2'].item() > 0


def test_train_step_errors():
    model = _model(ramp_by='iter').train()
    with pytest.raises(TypeError, match='OptimWrapperDict'):
        model.train_step(_data(), OptimWrapper(torch.optim.SGD(
            model.parameters(), lr=0.1)))
    data = _data()
    for s in data['data_samples']:
        s.set_metainfo(dict(labelled=None))
        del s.labelled
    with pytest.raises(KeyError, match="'labelled'"):
        model.train_step(data, _wrappers(model))
    epoch_model = _model()
    with pytest.raises(ValueError, match='epoch_length'):
        epoch_model.train_step(_data(), _wrappers(epoch_model))
    with pytest.raises(ValueError, match='unsup_input'):
        _model(unsup_input='soft')
    with pytest.raises(ValueError, match='ramp_by'):
        _model(ramp_by='step')
    with pytest.raises(ValueError, match='test_cfg.mode'):
        _model(test_cfg=dict(mode='max'))
    with pytest.raises(ValueError, match='classes'):
        MODELS.build(cps_cfg(segmentor2=branch_cfg(num_classes=5)))


# ----------------------------------------------------------- predict
def test_predict_ensemble_and_branches():
    model = _model().eval()
    data = _data()
    for s in data['data_samples']:
        s.set_metainfo(dict(ori_shape=(40, 36)))
    batch = model.data_preprocessor(copy.deepcopy(data), False)
    inputs, samples = batch['inputs'], batch['data_samples']
    metas = [s.metainfo for s in samples]
    with torch.no_grad():
        p1 = model.segmentor1.inference(inputs, metas).softmax(1)
        p2 = model.segmentor2.inference(inputs, metas).softmax(1)
        results = model.test_step(copy.deepcopy(data))
        tensor = model(inputs, samples, mode='tensor')
        single = model.predict_branch(2, inputs, copy.deepcopy(samples))
    ensemble = (p1 + p2).softmax(1)  # models/cps.py 'sum', get_prediction
    torch.testing.assert_close(tensor, ensemble)
    up = torch.nn.functional.interpolate(ensemble, (40, 36),
                                         mode='bilinear')
    for i, r in enumerate(results):
        assert r.seg_logits.data.shape == (K, 40, 36)
        torch.testing.assert_close(r.seg_logits.data, up[i])
        assert torch.equal(r.pred_sem_seg.data[0], up[i].argmax(0))
    up2 = torch.nn.functional.interpolate(p2, (40, 36), mode='bilinear')
    torch.testing.assert_close(single[0].seg_logits.data, up2[0])
    model.test_cfg['mode'] = 'branch1'
    with torch.no_grad():
        torch.testing.assert_close(model(inputs, samples, mode='tensor'), p1)
    with pytest.raises(ValueError, match='branch'):
        model.predict_branch(3, inputs, samples)


def test_slice_position_reaches_branch1_only():
    model = _model().eval()
    # a visible effect: weight of the position channel
    head1 = model.segmentor1.decode_head
    assert type(head1).__name__ == 'SlicePositionHead'
    assert type(model.segmentor2.decode_head).__name__ == 'FCNHead'
    with torch.no_grad():
        head1.head.conv_seg.conv.weight[:, -1, 0, 0] = torch.arange(K) - 1.5
    x = torch.rand(2, 3, H, W)
    outs = {}
    for pos in (0.1, 0.9):
        samples = _samples([None, None], positions=[pos, pos])
        with torch.no_grad():
            outs[pos] = [model.branch_probs(k, x, [s.metainfo
                                                   for s in samples])
                         for k in range(2)]
            outs[pos].append(model.branch_logits(0, x, samples))
    assert not torch.allclose(outs[0.1][0], outs[0.9][0])
    assert not torch.allclose(outs[0.1][2], outs[0.9][2])  # training path
    torch.testing.assert_close(outs[0.1][1], outs[0.9][1])
    with pytest.raises(KeyError, match='slice_position'):
        model.branch_probs(0, x, [dict(img_shape=(H, W), ori_shape=(H, W))]
                           * 2)
    # a branch with a position head but slice_position False
    cfg = branch_cfg()
    cfg['decode_head'] = dict(type='SlicePositionHead',
                              head=cfg['decode_head'])
    with pytest.raises(ValueError, match='slice_position is False'):
        MODELS.build(cps_cfg(segmentor2=cfg))
    # already wrapped: kept as is
    assert type(MODELS.build(cps_cfg(segmentor1=cfg)).segmentor1
                .decode_head.head).__name__ == 'FCNHead'
