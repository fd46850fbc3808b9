"""Shared fixtures: registry scope, procedural data cache, shared real data."""
import os
import os.path as osp

import pytest

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SHARED_DATA = os.environ.get('MMVIDSEG_SHARED_DATA',
                             osp.join(ROOT, '..', 'shared', 'data'))


@pytest.fixture(scope='session', autouse=True)
def _register(tmp_path_factory):
    os.environ.setdefault('MMVIDSEG_CACHE_DIR',
                          str(tmp_path_factory.mktemp('procedural_cache')))
    from mmvidseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)


@pytest.fixture(scope='session')
def shared_data():
    """Path of ``../shared/data``; skips when it is not there."""
    if not osp.isdir(SHARED_DATA):
        pytest.skip(f'shared data not found at {SHARED_DATA} '
                    '(set MMVIDSEG_SHARED_DATA)')
    return SHARED_DATA


@pytest.fixture(scope='session')
def repo_root():
    return ROOT


def make_tiny_model_cfg(num_classes=3, temporal=True, stream_refs=None,
                        test_mode='whole', norm='BN'):
    """A small VideoEncoderDecoder config (fast on CPU)."""
    norm_cfg = dict(type=norm, requires_grad=True)
    if norm == 'GN':
        norm_cfg['num_groups'] = 4
    head = dict(
        type='TemporalAttentionHead' if temporal else 'FCNHead',
        in_channels=32, in_index=1, channels=16, num_classes=num_classes,
        dropout_ratio=0.0, norm_cfg=norm_cfg, align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0))
    if temporal:
        head.update(key_channels=8, value_channels=16)
    else:
        head.update(num_convs=1, concat_input=False)
    test_cfg = dict(mode=test_mode)
    if test_mode == 'slide':
        test_cfg.update(crop_size=(24, 24), stride=(16, 16))
    return dict(
        type='VideoEncoderDecoder',
        data_preprocessor=dict(
            type='VideoSegDataPreProcessor', mean=[120., 110., 100.],
            std=[50., 50., 50.], bgr_to_rgb=True),
        backbone=dict(
            type='ResNetV1c', depth=18, stem_channels=8, base_channels=8,
            num_stages=3, strides=(1, 2, 1), dilations=(1, 1, 2),
            out_indices=(1, 2), norm_cfg=norm_cfg),
        decode_head=head,
        auxiliary_head=dict(
            type='FCNHead', in_channels=16, in_index=0, channels=8,
            num_convs=1, concat_input=False, dropout_ratio=0.0,
            num_classes=num_classes, norm_cfg=norm_cfg, align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),
        stream_cfg=None if stream_refs is None else dict(
            num_ref_frames=stream_refs),
        train_cfg=dict(),
        test_cfg=test_cfg)


@pytest.fixture
def tiny_model_cfg():
    return make_tiny_model_cfg


def make_procedural_run_cfg(work_dir, cache_dir, model=None, max_iters=4,
                            val_interval=1000, ckpt_interval=1000,
                            batch_size=2, train_videos=4, val_videos=3,
                            num_frames=5, workers=0, aug=False):
    """A complete, fast runner config on procedural videos."""
    from mmengine.config import Config
    data = dict(type='ProceduralVideoDataset', num_frames=num_frames,
                num_classes=3, img_size=(32, 32), cache_dir=cache_dir)
    geometric = [
        dict(type='ClipTransformBroadcaster', share_random_params=True,
             transforms=[dict(type='RandomFlip', prob=0.5)])
    ]
    train_pipeline = [
        dict(type='SampleClip', policy=dict(type='FixedOffsetClipPolicy',
                                            offsets=(-2, -1))),
        dict(type='LoadVideoFrames'),
        *(geometric if aug else []),
        dict(type='PackVideoSegInputs'),
    ]
    test_pipeline = [
        dict(type='SampleClip', policy=dict(type='FixedOffsetClipPolicy',
                                            offsets=())),
        dict(type='LoadVideoFrames'),
        dict(type='PackVideoSegInputs'),
    ]
    val_loader = dict(
        batch_size=1, num_workers=0,
        sampler=dict(type='VideoSequentialSampler'),
        dataset=dict(data, num_videos=val_videos, seed=1, frames='all',
                     test_mode=True, pipeline=test_pipeline))
    cfg = dict(
        default_scope='mmseg',
        model=model or make_tiny_model_cfg(stream_refs=2),
        work_dir=str(work_dir),
        train_dataloader=dict(
            batch_size=batch_size, num_workers=workers,
            persistent_workers=workers > 0,
            sampler=dict(type='InfiniteSampler', shuffle=True),
            dataset=dict(data, num_videos=train_videos, seed=0,
                         pipeline=train_pipeline)),
        val_dataloader=val_loader,
        test_dataloader=val_loader,
        val_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
        test_evaluator=dict(type='IoUMetric', iou_metrics=['mIoU']),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=max_iters,
                       val_interval=val_interval),
        val_cfg=dict(type='VideoValLoop'),
        test_cfg=dict(type='VideoTestLoop'),
        optim_wrapper=dict(type='OptimWrapper',
                           optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=[dict(type='PolyLR', eta_min=1e-4, power=0.9,
                              begin=0, end=max_iters, by_epoch=False)],
        default_hooks=dict(
            timer=dict(type='IterTimerHook'),
            logger=dict(type='LoggerHook', interval=1,
                        log_metric_by_epoch=False),
            param_scheduler=dict(type='ParamSchedulerHook'),
            checkpoint=dict(type='CheckpointHook', by_epoch=False,
                            interval=ckpt_interval),
            sampler_seed=dict(type='DistSamplerSeedHook')),
        env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'),
                     mp_cfg=dict(mp_start_method='fork')),
        log_processor=dict(by_epoch=False),
        randomness=dict(seed=0),
        log_level='WARNING',
    )
    return Config(cfg)
