# Cityscapes sequences: the labelled frame of each 30-frame snippet (gtFine
# trainIds, see tools/dataset_converters/cityscapes_trainids.py) with its two
# previous frames from leftImg8bit_sequence as memory (TMANet: T = 2).
dataset_type = 'CityscapesSeqDataset'
data_root = 'data/cityscapes/'
num_classes = 19
crop_size = (769, 769)
# the head's memory frames and the clip offsets derive from this one value
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
                scale=(2048, 1024),
                ratio_range=(0.5, 2.0),
                keep_ratio=True),
            dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
            dict(type='RandomFlip', prob=0.5),
        ]),
    # TMANet samples photometric distortion independently per frame
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
        transforms=[dict(type='Resize', scale=(2048, 1024), keep_ratio=True)
                    ]),
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
        split='val',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
