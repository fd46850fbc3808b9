# Procedural videos (embedded data, no download): textured moving shapes.
dataset_type = 'ProceduralVideoDataset'
num_classes = 4
img_size = (96, 96)
crop_size = (96, 96)
# the model's memory frames and the clip offsets derive from this one value
num_memory_frames = 2
memory_offsets = tuple(range(-num_memory_frames, 0))
train_pipeline = [
    dict(
        type='SampleClip',
        policy=dict(type='FixedOffsetClipPolicy', offsets=memory_offsets)),
    dict(type='LoadVideoFrames'),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(
                type='RandomResize',
                scale=img_size,
                ratio_range=(0.75, 1.5),
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
# Streaming evaluation: one frame per step, the model caches past features.
test_pipeline = [
    dict(type='SampleClip', policy=dict(type='FixedOffsetClipPolicy',
                                        offsets=())),
    dict(type='LoadVideoFrames'),
    dict(type='PackVideoSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        num_videos=24,
        num_frames=16,
        num_classes=num_classes,
        img_size=img_size,
        seed=0,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='VideoSequentialSampler'),
    dataset=dict(
        type=dataset_type,
        num_videos=6,
        num_frames=16,
        num_classes=num_classes,
        img_size=img_size,
        seed=1,
        frames='all',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
