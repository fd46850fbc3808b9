# FLARE22 CT slices for the STCN propagation model: slice triplets of the
# labelled train split as 3-frame clips (the layout written by
# tools/dataset_converters/flare22.py under data_root).
# As the original (ivos configs/flare22v2/stcn, FLARE22V2STCNDataset): the
# triplet policy with max_jump 25 (lowered by the curriculum hook through
# StageScheduleHook clip_policy stages), 3 CT windows per slice in [0, 255]
# (lossless here), Resize 512x512, vertical and horizontal flips (p 0.3
# each) shared by the 3 slices; /255 in the model's data preprocessor.
# Validation/test: whole volumes of the val split slice by slice in order
# (GT at the original size), scored per volume by VolumeDSCNSDMetric; the
# schedule must use the streaming loops (VideoValLoop / VideoTestLoop).
dataset_type = 'CTVolumeDataset'
data_root = 'data/flare22'
img_scale = (512, 512)
meta_keys = ('video_id', 'frame_id', 'frame_ids', 'key_index', 'img_path',
             'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'reduce_zero_label',
             'slice_index', 'num_slices', 'slice_position', 'labelled',
             'volume_shape', 'slice_axis', 'spacing', 'volume_spacing',
             'slice_spacing')
train_pipeline = [
    dict(
        type='SampleClip',
        policy=dict(type='STCNTripletClipPolicy', max_jump=25)),
    dict(type='LoadVolumeSlices', window=None),  # raw HU, 1 channel
    dict(type='CTMultiWindow'),  # -> 3 channels in [0, 255]
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='Resize', scale=img_scale, keep_ratio=False),
            dict(type='RandomFlip', prob=0.3, direction='vertical'),
            dict(type='RandomFlip', prob=0.3, direction='horizontal'),
        ]),
    dict(type='PackVideoSegInputs', pack_clip_labels=True,
         meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=())),
    dict(type='LoadVolumeSlices', window=None, with_label=False),
    dict(type='CTMultiWindow'),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[dict(type='Resize', scale=img_scale, keep_ratio=False)]),
    # GT at the slice's original size (predictions are resized back to it)
    dict(type='LoadVolumeLabels'),
    dict(type='PackVideoSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        img_dir='imagesTr',
        ann_dir='labelsTr',
        split='splits/train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VideoSequentialSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        img_dir='imagesTr',
        ann_dir='labelsTr',
        split='splits/val.txt',
        frames='all',
        test_mode=True,
        pipeline=test_pipeline))
# the FLARE22 validation cases instead: img_dir='validation',
# ann_dir='labelsVal', split='splits/validation.txt'
test_dataloader = val_dataloader
val_evaluator = dict(type='VolumeDSCNSDMetric')
test_evaluator = val_evaluator
