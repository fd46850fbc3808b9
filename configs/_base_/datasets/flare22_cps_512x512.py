# FLARE22 CT slices for the CPS reference model (2D): the layout written by
# tools/dataset_converters/flare22.py under data_root (imagesTr/labelsTr,
# unlabelled/, splits/{train,val,unlabelled,validation}.txt).
# As the original (ivos configs/flare22v2/cps): volumes in RAS+ orientation,
# no resampling; each axial slice -> 3 CT windows (abdomen [-150, 250],
# chest [-1350, 225], spine [-500, 1300] HU) in [0, 255] (lossless here,
# JPEG in the original); Resize 512x512 (bilinear; labels nearest),
# horizontal and vertical flips (p 0.5 each) and a Gaussian blur (p 0.5,
# kernel 3/5/7) = albumentations 1.1 HorizontalFlip/VerticalFlip/
# GaussianBlur defaults, the same for both streams; /255 in the model's data
# preprocessor (mean [0, 0, 0], std [255, 255, 255]).
# Two streams: every batch of 4 holds 2 labelled slices of the train split
# and 2 unlabelled slices (TwoStreamBatchSampler 2 + 2 of the original) via
# mmdet's MultiSourceSampler on a ConcatDataset; use an IterBasedTrainLoop.
# Unlabelled slices carry an all-255 (ignore) label and labelled=False.
# Each sample's metainfo has slice_position (slice index / number of slices
# of its volume) and labelled.
# Validation/test: whole volumes of the val split (the 5 fixed cases),
# slice by slice in order with the GT at its original size, scored per
# volume by VolumeDSCNSDMetric; the schedule must use the streaming loops
# (val_cfg = dict(type='VideoValLoop'), test_cfg = dict(type='VideoTestLoop')).
dataset_type = 'CTVolumeDataset'
data_root = 'data/flare22'
img_scale = (512, 512)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape',
             'pad_shape', 'scale_factor', 'flip', 'flip_direction',
             'reduce_zero_label', 'video_id', 'frame_id', 'slice_index',
             'num_slices', 'slice_position', 'labelled', 'volume_shape',
             'slice_axis', 'spacing', 'volume_spacing', 'slice_spacing')
train_pipeline = [
    dict(type='LoadVolumeSlices', window=None),  # raw HU, 1 channel
    dict(type='CTMultiWindow'),  # -> 3 channels in [0, 255]
    dict(type='ClipToImage', fill_ignore_label=True),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    dict(type='RandomGaussianBlur', prob=0.5, blur_limit=(3, 7)),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadVolumeSlices', window=None, with_label=False),
    dict(type='CTMultiWindow'),
    dict(type='ClipToImage'),
    dict(type='Resize', scale=img_scale, keep_ratio=False),
    # GT at the slice's original size (predictions are resized back to it)
    dict(type='LoadVolumeLabels'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
labelled_train = dict(
    type=dataset_type,
    data_root=data_root,
    img_dir='imagesTr',
    ann_dir='labelsTr',
    split='splits/train.txt',
    pipeline=train_pipeline)
unlabelled_train = dict(
    type=dataset_type,
    data_root=data_root,
    img_dir='unlabelled',
    split='splits/unlabelled.txt',
    mode='unlabelled',
    pipeline=train_pipeline)
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(
        type='mmdet.MultiSourceSampler', batch_size=4, source_ratio=[2, 2]),
    dataset=dict(
        type='ConcatDataset', datasets=[labelled_train, unlabelled_train]))
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
