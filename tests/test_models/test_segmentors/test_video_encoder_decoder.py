import copy
from pathlib import Path

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import MODELS


def _samples(n, t, hw, key=None, video='v', frame=0):
    out = []
    for _ in range(n):
        s = SegDataSample()
        s.gt_sem_seg = PixelData(data=torch.randint(0, 3, (1, *hw)))
        s.set_metainfo(dict(ori_shape=hw, img_shape=hw, pad_shape=hw,
                            padding_size=[0, 0, 0, 0],
                            key_index=t - 1 if key is None else key,
                            video_id=video, frame_id=frame, flip=False))
        out.append(s)
    return out


def _model(cfg_fn, **kw):
    torch.manual_seed(0)
    return MODELS.build(cfg_fn(**kw))


def test_loss_and_gradients(tiny_model_cfg):
    model = _model(tiny_model_cfg)
    x = torch.randn(2, 3, 3, 32, 32)
    losses = model.loss(x, _samples(2, 3, (32, 32)))
    assert {'decode.loss_ce', 'aux.loss_ce'} <= set(losses)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert model.decode_head.key_conv.conv.weight.grad.abs().sum() > 0


def test_feature_contract(tiny_model_cfg):
    model = _model(tiny_model_cfg)
    x = torch.randn(2, 4, 3, 32, 32)
    feats = model.extract_feat(x)
    assert [tuple(f.shape) for f in feats] == [(2, 4, 16, 4, 4),
                                               (2, 4, 32, 4, 4)]
    seen = {}

    def spy(inputs):
        seen['decode'] = [f.clone() for f in inputs]
        return torch.zeros(2, 3, 4, 4)

    model.decode_head.forward = spy
    model._forward(x, _samples(2, 4, (32, 32), key=1))
    # temporal head: 5-D, key frame (index 1) moved last, others in order
    got = seen['decode'][1]
    assert got.shape == (2, 4, 32, 4, 4)
    for pos, frame in enumerate([0, 2, 3, 1]):
        assert torch.allclose(got[:, pos], feats[1][:, frame])


def test_non_temporal_head_gets_key_frame(tiny_model_cfg):
    model = _model(tiny_model_cfg, temporal=False)
    x = torch.randn(1, 3, 3, 32, 32)
    feats = model.extract_feat(x)
    seen = {}

    def spy(inputs):
        seen['x'] = inputs
        return torch.zeros(1, 3, 4, 4)

    model.decode_head.forward = spy
    model._forward(x, _samples(1, 3, (32, 32), key=0))
    assert seen['x'][1].shape == (1, 32, 4, 4)
    assert torch.allclose(seen['x'][1], feats[1][:, 0])


def test_batch_with_mixed_key_positions_rejected(tiny_model_cfg):
    model = _model(tiny_model_cfg)
    samples = _samples(1, 3, (32, 32), key=0) + _samples(1, 3, (32, 32))
    with pytest.raises(ValueError, match='key frame positions'):
        model.loss(torch.randn(2, 3, 3, 32, 32), samples)


def test_slide_inference_crops_references_identically(tiny_model_cfg):
    model = _model(tiny_model_cfg, test_mode='slide').eval()
    torch.manual_seed(1)
    x = torch.randn(1, 3, 3, 40, 40)
    with torch.no_grad():
        slide = model.inference(x, [s.metainfo for s in
                                    _samples(1, 3, (40, 40))])
        # manual sliding: crop the whole clip, run whole-mode on each window
        windows = [(y, x0) for y in (0, 16) for x0 in (0, 16)]
        acc = torch.zeros(1, 3, 40, 40)
        cnt = torch.zeros(1, 1, 40, 40)
        for y, x0 in windows:
            crop = x[..., y:y + 24, x0:x0 + 24]
            meta = _samples(1, 3, (24, 24))[0].metainfo
            logit = model.encode_decode(crop, [meta])
            acc[..., y:y + 24, x0:x0 + 24] += logit
            cnt[..., y:y + 24, x0:x0 + 24] += 1
        assert torch.allclose(slide, acc / cnt, atol=1e-5)
        # a reference cropped differently changes the result: the head
        # really uses the references
        bad = x.clone()
        bad[:, 0] = torch.roll(bad[:, 0], 8, dims=-1)
        other = model.inference(bad, [s.metainfo for s in
                                      _samples(1, 3, (40, 40))])
        assert not torch.allclose(slide, other, atol=1e-4)


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_streaming_equals_clip_inference(tiny_model_cfg, mode):
    clip_model = _model(tiny_model_cfg, test_mode=mode).eval()
    stream_model = _model(tiny_model_cfg, test_mode=mode,
                          stream_refs=2).eval()
    stream_model.load_state_dict(clip_model.state_dict())
    torch.manual_seed(2)
    videos = {'a': torch.randn(5, 3, 40, 40), 'b': torch.randn(3, 3, 40, 40)}
    calls = []
    orig = stream_model.backbone.forward

    def counting(x):
        calls.append(x.shape[0])
        return orig(x)

    stream_model.backbone.forward = counting
    with torch.no_grad():
        for vid, frames in videos.items():
            for t in range(len(frames)):
                ids = [max(t - 2, 0), max(t - 1, 0), t]
                clip_out = clip_model.predict(
                    frames[ids][None], _samples(1, 3, (40, 40), video=vid,
                                                frame=t))
                stream_out = stream_model.predict(
                    frames[t][None, None], _samples(1, 1, (40, 40),
                                                    video=vid, frame=t))
                assert torch.allclose(clip_out[0].seg_logits.data,
                                      stream_out[0].seg_logits.data,
                                      atol=1e-4), (vid, t)
    # one backbone pass per frame (per window in slide mode)
    windows = 4 if mode == 'slide' else 1
    assert len(calls) == 8 * windows and set(calls) == {1}
    # bounded state: at most num_ref_frames cached per window
    assert all(len(c) == 2 for c in stream_model._stream_cache.values())


def test_stream_state_resets(tiny_model_cfg):
    model = _model(tiny_model_cfg, stream_refs=2).eval()
    x = torch.randn(1, 1, 3, 32, 32)
    with torch.no_grad():
        model.predict(x, _samples(1, 1, (32, 32), video='a'))
        assert model._stream_video == 'a' and model._stream_cache
        model.reset_state()
        assert model._stream_video is None and not model._stream_cache
    with pytest.raises(ValueError, match='one frame per step'):
        model.predict(torch.randn(2, 1, 3, 32, 32),
                      _samples(2, 1, (32, 32)))


def test_stream_cfg_checked(tiny_model_cfg):
    cfg = tiny_model_cfg()
    cfg['stream_cfg'] = dict(num_refs=2)
    with pytest.raises(KeyError, match='num_refs'):
        MODELS.build(cfg)


def test_tmanet_streaming_equals_clip_mode(tiny_model_cfg):
    """Per-slot memory embeddings see the same frames in both modes."""
    cfg = tiny_model_cfg()
    cfg['decode_head'] = dict(
        type='TMAHead', num_memory_frames=3, key_channels=8,
        value_channels=16, in_channels=32, in_index=1, channels=24,
        num_classes=3, dropout_ratio=0.0, norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss'))
    torch.manual_seed(0)
    model = MODELS.build(cfg).eval()
    frames = torch.randn(6, 3, 32, 32)
    clip_out, stream_out = [], []
    with torch.no_grad():
        for t in range(6):
            ids = [max(t - k, 0) for k in (3, 2, 1)] + [t]
            clip_out.append(model.predict(
                frames[ids][None], _samples(1, 4, (32, 32), frame=t))[0])
        model.enable_streaming()
        assert model.stream_cfg == dict(num_ref_frames=3)
        for t in range(6):
            stream_out.append(model.predict(
                frames[t][None, None], _samples(1, 1, (32, 32), frame=t))[0])
    for a, b in zip(clip_out, stream_out):
        assert torch.allclose(a.seg_logits.data, b.seg_logits.data,
                              atol=1e-4)
    # a permuted memory changes the result (slots are position-specific)
    with torch.no_grad():
        model.disable_streaming()
        swapped = model.predict(frames[[1, 0, 2, 5]][None],
                                _samples(1, 4, (32, 32)))[0]
        straight = model.predict(frames[[0, 1, 2, 5]][None],
                                 _samples(1, 4, (32, 32)))[0]
    assert not torch.allclose(swapped.seg_logits.data,
                              straight.seg_logits.data, atol=1e-4)


def test_two_clip_sample_reaches_the_model(tiny_model_cfg, tmp_path):
    """ShiftedClipPolicy -> pipeline -> data preprocessor -> model."""
    from mmengine.dataset import pseudo_collate

    from mmvidseg.datasets import ProceduralVideoDataset
    ds = ProceduralVideoDataset(
        num_videos=1, num_frames=6, num_classes=3, img_size=(32, 32),
        label_every=2, frames='all', cache_dir=str(tmp_path), pipeline=[
            dict(type='SampleClip', policy=dict(type='ShiftedClipPolicy',
                                                clip_len=2, shift=-1)),
            dict(type='LoadVideoFrames'),
            dict(type='PackVideoSegInputs'),
        ])
    items = [ds[i] for i in range(len(ds)) if ds.get_data_info(i)[
        'frame_id'] in (3, 4)]
    model = _model(tiny_model_cfg, temporal=False)
    data = model.data_preprocessor(pseudo_collate(items), training=True)
    x, samples = data['inputs'], data['data_samples']
    assert x.shape == (2, 4, 3, 32, 32)
    by_frame = {s.frame_id: s for s in samples}
    for s in samples:
        assert s.clip_bounds == [(0, 2), (2, 4)] and s.clip_len == 4
        assert s.gt_clip_seg.data.shape == (4, 32, 32)
    # frame 3: clip [2, 3], shifted [1, 2]; frames 1 and 3 are unlabelled
    s = by_frame[3]
    assert s.frame_ids == [2, 3, 1, 2] and s.key_index == 1
    assert s.supervised == [True, False, False, False]
    labels = s.gt_clip_seg.data
    assert (labels[1] == 255).all() and (labels[2] == 255).all()
    assert (labels[0] != 255).any() and torch.equal(labels[0], labels[3])
    assert by_frame[4].supervised == [False, True, False, False]

    # a temporal head refuses it instead of reading 3 memory frames
    temporal = _model(tiny_model_cfg)
    for call in (lambda: temporal.loss(x, samples),
                 lambda: temporal._forward(x, samples),
                 lambda: temporal.predict(x, samples)):
        with pytest.raises(ValueError, match=r'TemporalAttentionHead reads '
                           r'one clip .* clip_bounds \[\(0, 2\), \(2, 4\)\], '
                           r'not \[\(0, 4\)\]'):
            call()
    # the per-frame path trains on the supervised frames of both clips
    cfg = tiny_model_cfg(temporal=False)
    cfg['train_cfg'] = dict(supervise='all_frames')
    torch.manual_seed(0)
    per_frame = MODELS.build(cfg)
    calls = []
    orig = per_frame.backbone.forward
    per_frame.backbone.forward = lambda inp: calls.append(
        inp.shape[0]) or orig(inp)
    losses = per_frame.loss(x, samples)
    assert calls == [2] and losses['decode.loss_ce'] > 0


def _tmanet_cfg(cfg_fn, backbone_calls):
    cfg = cfg_fn()
    cfg['backbone_calls'] = backbone_calls
    cfg['decode_head'] = dict(
        type='TMAHead', num_memory_frames=2, key_channels=8,
        value_channels=16, in_channels=32, in_index=1, channels=24,
        num_classes=3, dropout_ratio=0.0, norm_cfg=dict(type='BN'),
        loss_decode=dict(type='CrossEntropyLoss'))
    return cfg


def _bn_stats(model):
    return [t.clone() for m in model.backbone.modules()
            if isinstance(m, torch.nn.BatchNorm2d)
            for t in (m.running_mean, m.running_var)]


def _slot_reference(model, x, samples, order):
    """TMANet's training forward by hand: one backbone call per slot."""
    feats = {s: model.backbone(x[:, s]) for s in order}
    key = samples[0].key_index  # memory oldest first, then the key frame
    slots = [s for s in range(x.size(1)) if s != key] + [key]
    clip = [torch.stack([feats[s][lvl] for s in slots], 1)
            for lvl in range(len(feats[key]))]
    losses = model.decode_head.loss(clip, samples, model.train_cfg)
    aux = model.auxiliary_head.loss(list(feats[key]), samples,
                                    model.train_cfg)
    return losses['loss_ce'], aux['loss_ce']


@pytest.mark.parametrize('key', [2, 1])
def test_per_slot_backbone_calls_match_tmanet(tiny_model_cfg, key):
    """Losses, gradients and BN running statistics equal the original's
    per-slot calls (key frame first, then memory slots oldest first)."""
    torch.manual_seed(0)
    model = MODELS.build(_tmanet_cfg(tiny_model_cfg, 'per_slot')).train()
    pooled = MODELS.build(_tmanet_cfg(tiny_model_cfg, 'pooled')).train()
    pooled.load_state_dict(model.state_dict())
    ref, ascending = copy.deepcopy(model), copy.deepcopy(model)
    torch.manual_seed(3)
    # slots with different means, so that per-slot statistics differ
    x = torch.randn(2, 3, 3, 32, 32) * 2
    x += torch.arange(3.).view(1, 3, 1, 1, 1)
    samples = _samples(2, 3, (32, 32), key=key)
    order = [key] + [s for s in range(3) if s != key]

    calls = []
    orig = model.backbone.forward
    model.backbone.forward = lambda inp: calls.append(
        inp.data_ptr()) or orig(inp)
    losses = model.loss(x, samples)
    assert calls == [x[:, s].data_ptr() for s in order]
    ref_dec, ref_aux = _slot_reference(ref, x, samples, order)
    assert torch.allclose(losses['decode.loss_ce'], ref_dec, atol=1e-6)
    assert torch.allclose(losses['aux.loss_ce'], ref_aux, atol=1e-6)
    (losses['decode.loss_ce'] + losses['aux.loss_ce']).backward()
    (ref_dec + ref_aux).backward()
    for a, b in zip(model.backbone.parameters(), ref.backbone.parameters()):
        assert torch.allclose(a.grad, b.grad, atol=1e-5)
    stats, ref_stats = _bn_stats(model), _bn_stats(ref)
    assert all(torch.allclose(a, b, atol=1e-6)
               for a, b in zip(stats, ref_stats))
    # the running statistics updated once per slot (momentum applied 3
    # times), in this order: the pooled call and another order differ
    _slot_reference(ascending, x, samples, [0, 1, 2])
    pooled_losses = pooled.loss(x, samples)
    assert not torch.allclose(pooled_losses['decode.loss_ce'],
                              losses['decode.loss_ce'], atol=1e-4)
    for other in (pooled, ascending):
        assert not all(torch.allclose(a, b, atol=1e-4)
                       for a, b in zip(stats, _bn_stats(other)))


def test_per_slot_inference_and_streaming(tiny_model_cfg):
    """Eval-mode batch norm makes the calls equivalent: inference pools them
    (faster), and streaming makes one single-frame call per frame."""
    torch.manual_seed(0)
    model = MODELS.build(_tmanet_cfg(tiny_model_cfg, 'per_slot'))
    x = torch.randn(2, 3, 3, 32, 32)
    calls = []
    orig = model.backbone.forward
    model.backbone.forward = lambda inp: calls.append(
        inp.shape[0]) or orig(inp)
    model.train()
    model._forward(x, _samples(2, 3, (32, 32)))
    assert calls == [2, 2, 2]
    model.eval()
    with torch.no_grad():
        calls.clear()
        pooled = model.predict(x, _samples(2, 3, (32, 32)))
        assert calls == [6]
        model.backbone_calls = 'pooled'
        for a, b in zip(pooled, model.predict(x, _samples(2, 3, (32, 32)))):
            assert torch.equal(a.seg_logits.data, b.seg_logits.data)
        model.backbone_calls = 'per_slot'
        calls.clear()
        model.enable_streaming()
        for t in range(3):
            model.predict(x[:1, t:t + 1], _samples(1, 1, (32, 32), frame=t))
    assert calls == [1, 1, 1]


def test_backbone_calls_checked(tiny_model_cfg, repo_root):
    cfg = tiny_model_cfg()
    cfg['backbone_calls'] = 'per_frame'
    with pytest.raises(ValueError, match="backbone_calls must be one of"):
        MODELS.build(cfg)
    cfg = tiny_model_cfg(temporal=False)
    cfg.update(backbone_calls='per_slot',
               train_cfg=dict(supervise='all_frames'))
    with pytest.raises(ValueError, match="backbone_calls='pooled'"):
        MODELS.build(cfg)
    # TMANet configs call the backbone per slot, the demo model pools
    from mmengine.config import Config
    root = Path(repo_root) / 'configs'
    configs = sorted((root / 'tmanet').glob('*.py'))
    assert configs
    for path in configs:
        assert Config.fromfile(path).model.backbone_calls == 'per_slot'
    demo = Config.fromfile(root / '_base_/models/tempattn_r18-tiny.py')
    assert demo.model.get('backbone_calls', 'pooled') == 'pooled'
