# SUN-SEG (PNS+ layout) for SALI: <data_root>/<split>/{Frame,GT}/<case>/.
# Training samples (memory, current, neighbour) triplets with SALI's
# augmentations in its order; validation and test stream whole cases as
# (current, neighbour) pairs resized to 352x352, with the GT kept at its
# original size. Labels are raw grey masks (0..255, soft after rotation and
# resizing); the SALI segmentor divides them by 255.
dataset_type = 'SUNSEGDataset'
data_root = 'data/SUN-SEG/'
# one variable per split; a config switches with e.g.
# test_dataloader = dict(dataset=dict(split='TestHardDataset/Unseen'))
train_split = 'TrainDataset'
val_split = 'TestHardDataset/Seen'  # SALI validates (and selects) on it
test_split = 'TestEasyDataset/Unseen'
img_scale = (352, 352)
# starting value; the curriculum (StageScheduleHook) changes it
max_skip = 5
train_pipeline = [
    dict(
        type='SampleClip',
        policy=dict(type='SALIClipPolicy', mode='train', max_skip=max_skip)),
    # PIL decoding, as SALI
    dict(type='LoadVideoFrames', imdecode_backend='pillow'),
    # the same flip and rotation for every frame and GT of the triplet
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='RandomFlip', prob=0.5, direction='horizontal'),
            dict(type='RandomRotateBicubic', prob=0.2,
                 degree_range=(-15, 14)),
        ]),
    # colour enhancement per frame, pepper noise per GT, independently
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=False,
        transforms=[
            dict(type='ColorEnhance'),
            dict(type='PepperNoise', ratio=0.0015),
        ]),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[dict(type='SoftMaskResize', scale=img_scale)]),
    # the memory frame's GT weights the memory values: pack every label
    dict(type='PackVideoSegInputs', pack_clip_labels=True),
]
test_pipeline = [
    dict(type='SampleClip', policy=dict(type='SALIClipPolicy', mode='test')),
    dict(type='LoadVideoFrames', with_label=False, imdecode_backend='pillow'),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[dict(type='SoftMaskResize', scale=img_scale)]),
    # GT at its original size: predictions are resized back to it
    dict(type='LoadVideoAnnotations'),
    dict(type='PackVideoSegInputs'),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split=train_split,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VideoSequentialSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split=val_split,
        frames='all',
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VideoSequentialSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split=test_split,
        frames='all',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='VPSMetric')
test_evaluator = val_evaluator
