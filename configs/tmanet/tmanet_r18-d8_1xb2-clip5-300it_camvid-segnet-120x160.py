# TMANet-R18 on CamVid (SegNet layout), CPU-sized: the first real-data
# training run (tools/misc/tmanet_camvid_cpu_run.sh). From scratch (no
# ImageNet download here), at half resolution (frames 240x180, 120x160
# crops), 300 iterations of batch 2, the original's SGD + poly schedule and
# per-slot backbone calls, validation on val with the streaming loop (each
# frame encoded once, the four previous labelled frames as memory).
_base_ = [
    '../_base_/models/tmanet_r50-d8.py',
    '../_base_/datasets/camvid_segnet_640x640.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (120, 160)
img_scale = (240, 180)
max_iters = 300
bn = dict(type='BN', requires_grad=True)
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, norm_cfg=bn),
    decode_head=dict(
        in_channels=512,
        channels=128,
        norm_cfg=bn,
        num_memory_frames=_base_.num_memory_frames,
        num_classes=_base_.num_classes),
    auxiliary_head=dict(
        in_channels=256,
        channels=64,
        norm_cfg=bn,
        num_classes=_base_.num_classes),
    test_cfg=dict(mode='whole'),
    stream_cfg=dict(_delete_=True, num_ref_frames=_base_.num_memory_frames))
train_pipeline = [
    dict(
        type='SampleClip',
        policy=dict(
            type='FixedOffsetClipPolicy', offsets=_base_.memory_offsets)),
    dict(type='LoadVideoFrames'),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(
                type='RandomResize',
                scale=img_scale,
                ratio_range=(0.5, 2.0),
                keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
            dict(type='RandomFlip', prob=0.5),
        ]),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=False,
        transforms=[dict(type='PhotoMetricDistortion')]),
    dict(type='PackVideoSegInputs'),
]
# streaming: one frame per step, memory from the cached features
test_pipeline = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=())),
    dict(type='LoadVideoFrames', with_label=False),
    dict(
        type='ClipTransformBroadcaster',
        transforms=[dict(type='Resize', scale=img_scale, keep_ratio=True)]),
    # labels at their original size: predictions are resized back
    dict(type='LoadVideoAnnotations'),
    dict(type='PackVideoSegInputs'),
]
train_dataloader = dict(
    batch_size=2, num_workers=2, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=2,
    sampler=dict(_delete_=True, type='VideoSequentialSampler'),
    dataset=dict(frames='all', pipeline=test_pipeline))
test_dataloader = dict(
    num_workers=2,
    sampler=dict(_delete_=True, type='VideoSequentialSampler'),
    dataset=dict(frames='all', pipeline=test_pipeline))
param_scheduler = [
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
         by_epoch=False)
]
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='VideoValLoop')
test_cfg = dict(type='VideoTestLoop')
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_iters // 2, max_keep_ckpts=2))
randomness = dict(seed=0)
