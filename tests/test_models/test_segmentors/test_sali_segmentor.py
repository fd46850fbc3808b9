import copy

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.registry import MODELS
from mmvidseg.utils import register_all_modules

register_all_modules()

# PVTv2 at 1/8 of B5's width and one block per stage: channels 8/16/40/64
TINY = dict(
    type='SALISegmentor',
    data_preprocessor=dict(
        type='VideoSegDataPreProcessor', mean=[0., 0., 0.],
        std=[1., 1., 1.], seg_pad_val=0),
    backbone=dict(
        type='mmdet.PyramidVisionTransformerV2', embed_dims=8,
        num_layers=[1, 1, 1, 1], num_heads=[1, 2, 5, 8],
        sr_ratios=[8, 4, 2, 1], qkv_bias=True, drop_path_rate=0.0),
    neck=dict(type='RFBNeck', in_channels=(16, 40, 64), out_channels=32),
    decode_head=dict(type='SALIHead', pool_sizes=(2, 2, 2)),
    mem_freq=5,
    test_mem_length=3)


def tiny_sali(**kwargs):
    cfg = copy.deepcopy(TINY)
    cfg.update(kwargs)
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _train_sample(h=64, w=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    clip = (torch.rand(3, h, w, generator=g) > 0.5).long() * 255
    s = SegDataSample(metainfo=dict(key_index=1, frame_ids=[0, 1, 2],
                                    img_shape=(h, w), ori_shape=(h, w)))
    s.gt_sem_seg = PixelData(data=clip[1:2])
    s.gt_clip_seg = PixelData(data=clip)
    return s


def test_loss_shapes_and_backward():
    model = tiny_sali()
    model.train()
    inputs = torch.randn(2, 3, 3, 64, 64)
    losses = model.loss(inputs, [_train_sample(seed=i) for i in range(2)])
    assert set(losses) == {'loss_structure'}
    losses['loss_structure'].backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    # every part of the network receives a gradient (the zero-initialised
    # offset convolutions too)
    for part in ('backbone.', 'neck.', 'decode_head.key_convs',
                 'decode_head.value_convs', 'decode_head.alignment',
                 'decode_head.fusion', 'decode_head.decoder'):
        assert any(g is not None and g.abs().sum() > 0
                   for n, g in grads.items() if n.startswith(part)), part


def test_loss_rejects_bad_clips():
    model = tiny_sali()
    with pytest.raises(ValueError, match='memory, current, neighbour'):
        model.loss(torch.randn(1, 2, 3, 64, 64), [_train_sample()])
    s = _train_sample()
    del s.gt_clip_seg
    with pytest.raises(KeyError, match='pack_clip_labels'):
        model.loss(torch.randn(1, 3, 3, 64, 64), [s])


def _frame(video, t, n, h=64, w=64, nb='next'):
    j = (t + 1 if t + 1 < n else t - 1) if nb == 'next' else max(t - 1, 0)
    meta = dict(video_id=video, frame_id=t, frame_ids=[t, j], key_index=0,
                img_shape=(h, w), ori_shape=(h + 6, w - 4))
    return SegDataSample(metainfo=meta), j


def _stream(model, video_frames, nb='next', check=None):
    outs = []
    for video, frames in video_frames.items():
        n = len(frames)
        for t in range(n):
            sample, j = _frame(video, t, n, nb=nb)
            x = torch.stack([frames[t], frames[j]])[None]
            with torch.no_grad():
                out = model.predict(x, [sample])[0]
            outs.append(out)
            if check is not None:
                check(video, t)
    return outs


def test_streaming_protocol_budget_and_reset():
    model = tiny_sali().eval()
    g = torch.Generator().manual_seed(1)
    videos = {'a': torch.randn(500, 3, 64, 64, generator=g),
              'b': torch.randn(12, 3, 64, 64, generator=g)}
    per_frame = [64, 16, 4]  # tokens of one frame at 1/8, 1/16, 1/32
    stored = []

    def check(video, t):
        bank = model.bank
        # SALI's rule: the memory is pruned when floor(tokens / hw) at 1/8
        # exceeds test_mem_length, so scale 0 holds fewer than L + 1 frames
        # of tokens; the other scales are pruned at the same times
        L = model.test_mem_length
        for s, per in enumerate(per_frame):
            n = sum(e.keys[s].size(1) for e in bank.entries)
            assert n < (L + 1) * per if s == 0 else n <= (2 * L + 1) * per
        stored.append(bank.num_tokens())
        if video == 'b' and t == 0:  # a new video starts from its own frame
            assert bank.num_frames == 1

    outs = _stream(model, videos, check=check)
    # writes at frames 0, 5, 10 ...: 1, 2, 3 frames, then bounded
    assert stored[0] == 64 and stored[5] == 128 and stored[10] == 192
    assert max(stored[:500]) < 4 * 64
    # flat with video length
    assert max(stored[250:500]) <= max(stored[:250])
    out = outs[0]
    assert out.seg_logits.data.shape == (1, 70, 60)
    assert out.pred_sem_seg.data.shape == (1, 70, 60)
    assert torch.equal(out.pred_sem_seg.data[0],
                       (out.seg_logits.data[0] > 0).to(torch.uint8))


def test_feature_cache_gives_the_same_predictions():
    g = torch.Generator().manual_seed(2)
    frames = {'v': torch.randn(8, 3, 64, 64, generator=g)}
    for nb in ('next', 'previous'):
        model = tiny_sali().eval()
        cached = _stream(model, frames, nb=nb)
        model.cache_features = False
        model.reset_state()
        plain = _stream(model, frames, nb=nb)
        for a, b in zip(cached, plain):
            assert torch.allclose(a.seg_logits.data, b.seg_logits.data,
                                  atol=1e-5)


def test_first_frame_equals_stateless_forward():
    model = tiny_sali().eval()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 2, 3, 64, 64, generator=g)
    sample = SegDataSample(metainfo=dict(video_id='v', frame_id=0,
                                         frame_ids=[0, 1], key_index=0))
    with torch.no_grad():
        out = model.predict(x, [sample])[0].seg_logits.data
        ref = model._forward(x)[0]
    assert torch.allclose(out, ref, atol=1e-6)
    with pytest.raises(ValueError, match='one frame per call'):
        model.predict(torch.randn(2, 2, 3, 64, 64), [sample, sample])
