import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmvidseg.models import VideoSegDataPreProcessor


def _sample(h, w, t):
    s = SegDataSample()
    s.gt_sem_seg = PixelData(data=torch.zeros(1, h, w, dtype=torch.long))
    s.gt_clip_seg = PixelData(data=torch.ones(t, h, w, dtype=torch.long))
    s.set_metainfo(dict(key_index=t - 1))
    return s


def test_ntchw_contract_and_normalisation():
    pre = VideoSegDataPreProcessor(
        mean=[1, 2, 3], std=[2, 2, 2], bgr_to_rgb=True, size=(10, 12))
    clip = torch.zeros(3, 3, 8, 9, dtype=torch.uint8)
    clip[:, 0] = 5  # B channel -> becomes last after bgr_to_rgb
    clip[1] += 2  # frame 1 differs
    data = dict(inputs=[clip, clip.clone()],
                data_samples=[_sample(8, 9, 3), _sample(8, 9, 3)])
    out = pre(data, training=True)
    x = out['inputs']
    assert x.shape == (2, 3, 3, 10, 12)
    # per-frame normalisation, channel swap
    assert torch.allclose(x[0, 0, 2, :8, :9], torch.tensor((5 - 3) / 2.))
    assert torch.allclose(x[0, 1, 0, :8, :9], torch.tensor((2 - 1) / 2.))
    # one padding for the whole clip, with pad_val 0 (before normalising)
    assert (x[0, :, :, 8:, :] == 0).all() and (x[0, :, :, :, 9:] == 0).all()
    s = out['data_samples'][0]
    assert s.gt_sem_seg.data.shape == (1, 10, 12)
    assert (s.gt_sem_seg.data[:, 8:] == 255).all()
    assert s.gt_clip_seg.data.shape == (3, 10, 12)
    assert (s.gt_clip_seg.data[:, :8, :9] == 1).all()
    assert (s.gt_clip_seg.data[:, :, 9:] == 255).all()


def test_test_mode_stacks_and_checks_sizes():
    pre = VideoSegDataPreProcessor()
    out = pre(dict(inputs=[torch.zeros(2, 3, 4, 4, dtype=torch.uint8)] * 2),
              training=False)
    assert out['inputs'].shape == (2, 2, 3, 4, 4)
    with pytest.raises(ValueError, match='differ in size'):
        pre(dict(inputs=[torch.zeros(2, 3, 4, 4), torch.zeros(2, 3, 5, 4)]))
    with pytest.raises(ValueError, match='same number of frames'):
        pre(dict(inputs=[torch.zeros(2, 3, 4, 4), torch.zeros(3, 3, 4, 4)]))
    with pytest.raises(ValueError, match='expected a clip'):
        pre(dict(inputs=[torch.zeros(1, 2, 3, 4, 4)]))


def test_clip_metainfo_kept_and_weights_padded_with_zero():
    pre = VideoSegDataPreProcessor(size=(6, 8), test_cfg=dict(size=(6, 8)))
    s = _sample(4, 5, 4)
    s.gt_clip_weight = PixelData(data=torch.full((4, 4, 5), 0.5))
    s.set_metainfo(dict(clip_bounds=[(0, 2), (2, 4)],
                        supervised=[True, True, False, False],
                        loss_weight=0.3))
    clip = torch.zeros(4, 3, 4, 5, dtype=torch.uint8)
    out = pre(dict(inputs=[clip], data_samples=[s]), training=True)
    got = out['data_samples'][0]
    assert got.clip_bounds == [(0, 2), (2, 4)]
    assert got.supervised == [True, True, False, False]
    assert got.loss_weight == 0.3
    w = got.gt_clip_weight.data
    assert w.shape == (4, 6, 8) and w.dtype == torch.float32
    assert (w[:, :4, :5] == 0.5).all()
    assert (w[:, 4:] == 0).all() and (w[:, :, 5:] == 0).all()
    # test mode: padding info added, clip metainfo kept
    s = _sample(4, 5, 4)
    s.set_metainfo(dict(clip_bounds=[(0, 2), (2, 4)]))
    out = pre(dict(inputs=[clip], data_samples=[s]), training=False)
    got = out['data_samples'][0]
    assert got.clip_bounds == [(0, 2), (2, 4)] and got.pad_shape == (6, 8)
