"""MSTFALSegmentor: the loss of each stage against its definition."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.models.utils import image_weight, select_noise, tfal_affinity
from mmvidseg.registry import MODELS
from mmvidseg.utils import register_all_modules

register_all_modules()

H, W, K, L = 32, 40, 4, 3
TINY = dict(
    type='MSTFALSegmentor',
    backbone=dict(type='ResNet18OS8'),
    decode_head=dict(type='DeepLabV3PlusLiteHead', num_classes=K),
    loss=dict(type='OhemCrossEntropyLoss', n_min=H * W // 16))


def _model():
    torch.manual_seed(0)
    return MODELS.build(copy.deepcopy(TINY))


def _batch(videos=('seq_1', 'seq_2'), seed=0):
    g = torch.Generator().manual_seed(seed)
    n = len(videos)
    inputs = torch.randn(n, 2 * L, 3, H, W, generator=g)
    samples = []
    for v in videos:
        s = SegDataSample(metainfo=dict(
            video_id=v, clip_bounds=[(0, L), (L, 2 * L)], key_index=L - 1,
            img_shape=(H, W), ori_shape=(H, W)))
        s.gt_clip_seg = PixelData(
            data=torch.randint(0, K, (2 * L, H, W), generator=g))
        samples.append(s)
    return inputs, samples


def _ohem_per_clip(model, inputs, samples):
    """The plain per-clip OHEM losses, straight from the parts."""
    out = []
    for x, s in zip(inputs, samples):
        logits, _ = model.frame_forward(x[:L])
        out.append(model.loss_module(logits, s.gt_clip_seg.data[:L]))
    return torch.stack(out)


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_stage_losses_follow_their_definitions():
    model = _model().eval()  # eval: batch statistics do not differ by call
    inputs, samples = _batch()
    weights = {'seq_1': 0.4, 'seq_2': 1.0}
    model.set_reliability(weights, p_thr=0.3, n_thr=0.6, uncertain=[])
    with torch.no_grad():
        plain = _ohem_per_clip(model, inputs, samples)
        model.set_stage('plain')
        assert torch.allclose(model.loss(inputs, samples)['loss_ohem'],
                              plain.mean(), atol=1e-6)
        model.set_stage('video')
        losses = model.loss(inputs, samples)
        assert torch.allclose(losses['loss_ohem'],
                              (plain * torch.tensor([0.4, 1.0])).mean(),
                              atol=1e-6)
        assert float(losses['lambda_v']) == pytest.approx(0.7)
        model.set_stage('image')
        expected = []
        for i, (x, s) in enumerate(zip(inputs, samples)):
            _, emb = model.frame_forward(x[:L])
            _, prev = model.frame_forward(x[L:])
            small = F.interpolate(s.gt_clip_seg.data[:, None].float(),
                                  size=emb.shape[-2:],
                                  mode='nearest')[:, 0].long()
            aff = tfal_affinity(emb, prev, small[:L], small[L:], K)
            lam_i = image_weight(aff.pos_mean, aff.neg_mean, 0.3, 0.6)
            expected.append(lam_i * weights[s.video_id] * plain[i])
        assert torch.allclose(model.loss(inputs, samples)['loss_ohem'],
                              torch.stack(expected).mean(), atol=1e-5)


class _Constant(torch.nn.Module):
    """A correction model predicting class 2 everywhere."""

    def frame_forward(self, frames):
        logits = torch.zeros(frames.size(0), K, *frames.shape[-2:])
        logits[:, 2] = 1
        return logits, None


def test_pixel_stage_corrects_labels_of_uncertain_videos():
    model = _model().eval()
    inputs, samples = _batch()
    model.set_reliability({'seq_1': 0.4, 'seq_2': 1.0}, 0.3, 0.6,
                          uncertain=['seq_1'])
    model.set_stage('pixel')
    model.set_correction_model(_Constant())
    with torch.no_grad():
        losses = model.loss(inputs, samples)
        x, s = inputs[0], samples[0]
        logits, emb = model.frame_forward(x[:L])
        _, prev = model.frame_forward(x[L:])
        small = F.interpolate(s.gt_clip_seg.data[:, None].float(),
                              size=emb.shape[-2:], mode='nearest')[:, 0]
        aff = tfal_affinity(emb, prev, small[:L].long(), small[L:].long(), K)
        mask = select_noise(aff, (H, W), 0.3, 'intersection')
        assert mask.any() and not mask.all()
        target = torch.where(mask, torch.full_like(s.gt_clip_seg.data[:L], 2),
                             s.gt_clip_seg.data[:L])
        first = 0.7 * model.loss_module(logits, target)
        # the other video: stage-3 loss with its noisy labels
        model.set_reliability({'seq_1': 0.4, 'seq_2': 1.0}, 0.3, 0.6, [])
        model.set_stage('image')
        both = model.loss(inputs, samples)['loss_ohem'] * 2
        model.set_stage('plain')
        only_first_plain = _ohem_per_clip(model, inputs[:1], samples[:1])
    second = both - image_weight(
        aff.pos_mean, aff.neg_mean, 0.3, 0.6) * 0.4 * only_first_plain[0]
    assert torch.allclose(losses['loss_ohem'] * 2, first + second,
                          atol=1e-4)
    assert float(losses['corrected_clips']) == 1


def test_alias_mode_trains_in_eval_mode_and_copy_mode_does_not():
    model = _model()
    model.set_correction_model(model, freeze_norms=True)
    model.train()
    assert not model.training and not model.backbone.bn1.training
    assert '_correction' not in dict(model.named_modules())
    frozen = _model()
    model.set_correction_model(frozen)
    model.train()
    assert model.training
    # a plain attribute, not a submodule: no state-dict entries
    assert not any(k.startswith('_correction') for k in model.state_dict())


def test_errors_and_predict():
    model = _model()
    with pytest.raises(ValueError, match='stage must be one of'):
        model.set_stage('video-level')
    inputs, samples = _batch()
    model.set_stage('video')
    model.set_reliability({'seq_1': 1.0}, 0, 0, [])
    with pytest.raises(KeyError, match="no MS-TFAL weight for video 'seq_2'"):
        model.loss(inputs, samples)
    del samples[0].gt_clip_seg
    with pytest.raises(KeyError, match='pack_clip_labels'):
        model.loss(inputs, samples)
    model.eval()
    s = SegDataSample(metainfo=dict(img_shape=(H, W), ori_shape=(64, 80),
                                    key_index=0))
    with torch.no_grad():
        out = model.predict(inputs[:1, :1], [s])[0]
    assert out.seg_logits.data.shape == (K, 64, 80)
    assert out.pred_sem_seg.data.shape == (1, 64, 80)


def test_training_step_backward():
    model = _model().train()
    inputs, samples = _batch()
    model.set_reliability({'seq_1': 0.4, 'seq_2': 1.0}, 0.3, 0.6, ['seq_2'])
    model.set_stage('pixel')
    model.set_correction_model(_Constant())
    losses = model.loss(inputs, samples)
    losses['loss_ohem'].backward()
    assert model.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.decode_head.conv_seg.weight.grad.abs().sum() > 0
