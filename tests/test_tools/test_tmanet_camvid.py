"""TMANet-R18 trains and evaluates on real CamVid frames through the tools."""
import os.path as osp

import pytest

from ._run import last_metrics, run, tool

pytestmark = pytest.mark.slow

CONFIG = '''
_base_ = {base!r}
data_root = {data_root!r}
crop_size = (96, 128)
scale = (160, 120)
offsets = (-4, -3, -2, -1)
bn = dict(type='BN', requires_grad=True)
train_pipeline = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=offsets)),
    dict(type='LoadVideoFrames'),
    dict(type='ClipTransformBroadcaster', share_random_params=True,
         transforms=[
             dict(type='RandomResize', scale=scale, ratio_range=(0.8, 1.2),
                  keep_ratio=True),
             dict(type='RandomCrop', crop_size=crop_size,
                  cat_max_ratio=0.75),
             dict(type='RandomFlip', prob=0.5)]),
    dict(type='ClipTransformBroadcaster', share_random_params=False,
         transforms=[dict(type='PhotoMetricDistortion')]),
    dict(type='PackVideoSegInputs'),
]
test_pipeline = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=offsets)),
    dict(type='LoadVideoFrames', with_label=False),
    dict(type='ClipTransformBroadcaster',
         transforms=[dict(type='Resize', scale=scale, keep_ratio=True)]),
    dict(type='LoadVideoAnnotations'),
    dict(type='PackVideoSegInputs'),
]
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(norm_cfg=bn),
    decode_head=dict(norm_cfg=bn),
    auxiliary_head=dict(norm_cfg=bn),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(64, 96)))
train_dataloader = dict(
    batch_size=2, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, split='train', indices=6,
                 pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, split='val', indices=4,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_iters=2, val_interval=2)
default_hooks = dict(logger=dict(interval=1),
                     checkpoint=dict(interval=2, max_keep_ckpts=1))
'''


def test_tmanet_r18_on_camvid_slice(tmp_path, shared_data, repo_root):
    base = osp.join(repo_root, 'configs', 'tmanet',
                    'tmanet_r18-d8_4xb2-clip5-80k_camvid-segnet-640x640.py')
    cfg = tmp_path / 'tmanet_camvid_slice.py'
    cfg.write_text(CONFIG.format(
        base=base, data_root=osp.join(shared_data, 'camvid')))
    work = tmp_path / 'work'
    run([tool('train.py'), str(cfg), '--work-dir', str(work)])
    ckpt = work / 'iter_2.pth'
    assert ckpt.is_file()
    assert 'mIoU' in last_metrics(work)  # validation during training
    out = tmp_path / 'masks'
    run([tool('test.py'), str(cfg), str(ckpt), '--work-dir',
         str(tmp_path / 'test'), '--out', str(out)])
    metrics = last_metrics(tmp_path / 'test')
    assert 0 <= metrics['mIoU'] <= 100
    # predictions of the 4 val frames, full 480x360 resolution
    masks = sorted((out / '0016E5').iterdir())
    assert len(masks) == 4
    import cv2
    assert cv2.imread(str(masks[0]), cv2.IMREAD_UNCHANGED).shape == (360, 480)
