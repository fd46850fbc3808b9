# EndoVis18 for MS-TFAL: <data_root>/{train,test}/seq_<n>/left_frames/ with
# class-id labels made by tools/dataset_converters/endovis18.py
# (seq_<n>/class_labels/); noisy labels under train_noisy_label/.
# As MS-TFAL: frames and labels resized to 320x256 (W x H) with PIL bilinear,
# no augmentation, RGB / 255 without mean/std; one clip of 4 frames plus the
# clip shifted by -1 frame per step; test on every frame of test seq_1..4
# with the GT at its original size (1024x1280).
dataset_type = 'EndoVis18Dataset'
data_root = 'data/endovis18/'
# clean labels: 'class_labels' (a sub-folder of each sequence); noisy: a
# template with {seq}, e.g. train_noisy_label/noisy_scene_labels_final_mask_v0
train_label_dir = 'train_noisy_label/noisy_scene_labels_final_mask_v0/{seq}'
img_scale = (320, 256)  # (w, h)
clip_len = 4
# MS-TFAL resizes the class-id labels with PIL BILINEAR (ids are
# interpolated at class boundaries, a bug kept for faithfulness);
# 'nearest' resizes them with PIL nearest
label_interp = 'bilinear'
# MS-TFAL validates (and selects its best checkpoint) on every 4th frame of
# the TEST split from frame 1 (its `test_part`); change to validate elsewhere
val_frame_step = 4
val_frame_offset = 1
meta_keys = ('video_id', 'video_index', 'frame_id', 'frame_ids', 'key_index',
             'loss_weight', 'img_path', 'seg_map_path', 'ori_shape',
             'img_shape', 'pad_shape', 'scale_factor', 'flip',
             'flip_direction', 'reduce_zero_label')
train_pipeline = [
    dict(
        type='SampleClip',
        policy=dict(type='ShiftedClipPolicy', clip_len=clip_len, shift=-1)),
    # PIL decoding, as MS-TFAL (frames come out BGR: see the preprocessor)
    dict(type='LoadVideoFrames', imdecode_backend='pillow'),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='SoftMaskResize', scale=img_scale,
                 seg_interpolation=label_interp)
        ]),
    dict(type='PackVideoSegInputs', pack_clip_labels=True,
         meta_keys=meta_keys),
]
test_pipeline = [
    # one frame per item: MS-TFAL's segmenter sees single frames at test
    dict(type='SampleClip', policy=dict(type='FixedOffsetClipPolicy',
                                        offsets=())),
    dict(type='LoadVideoFrames', with_label=False, imdecode_backend='pillow'),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[dict(type='SoftMaskResize', scale=img_scale)]),
    # GT at its original size: predictions are resized back to it
    dict(type='LoadVideoAnnotations'),
    dict(type='PackVideoSegInputs', meta_keys=meta_keys),
]
# MS-TFAL feeds RGB / 255 (mean 0, std 255); pass it to the model as
# model = dict(data_preprocessor=endovis18_data_preprocessor)
endovis18_data_preprocessor = dict(
    type='VideoSegDataPreProcessor',
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
train_dataloader = dict(
    batch_size=1,  # one clip (+ shifted clip) of one video per step
    num_workers=3,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        label_dir=train_label_dir,
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VideoSequentialSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        label_dir='class_labels',
        frame_step=val_frame_step,
        frame_offset=val_frame_offset,
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
        split='test',
        label_dir='class_labels',
        test_mode=True,
        pipeline=test_pipeline))
val_evaluator = dict(type='EndoVisMetric')
test_evaluator = val_evaluator
