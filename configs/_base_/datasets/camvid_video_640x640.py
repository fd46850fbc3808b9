# CamVid in the TMANet layout: 12 classes with void (index 0, trained and
# evaluated as a class, as in TMANet), labelled frames of annotations/*.txt and
# the four previous video frames from images_sequence/ as memory (T = 4).
dataset_type = 'CamVidVideoDataset'
data_root = 'data/camvid/'
num_classes = 12
crop_size = (640, 640)
# the head's memory frames and the clip offsets derive from this one value
num_memory_frames = 4
memory_offsets = tuple(range(-num_memory_frames, 0))
img_scale = (960, 720)
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
test_pipeline = [
    dict(
        type='SampleClip',
        policy=dict(type='FixedOffsetClipPolicy', offsets=memory_offsets)),
    dict(type='LoadVideoFrames', with_label=False),
    dict(
        type='ClipTransformBroadcaster',
        transforms=[dict(type='Resize', scale=img_scale, keep_ratio=True)]),
    # labels at their original size: predictions are resized back
    dict(type='LoadVideoAnnotations'),
    dict(type='PackVideoSegInputs'),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        layout='tmanet',
        split='train',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        layout='tmanet',
        # the original validates (and keeps its best checkpoint) on val (100
        # frames) and tests on test
        split='val',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        layout='tmanet',
        split='test',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
