# MS-TFAL on EndoVis18 with noisy labels: stages from epochs T1/T2/T3 = 4/6/8
# (1-based, as the original), video reliability re-ranked every epoch on the
# training frames and their previous frames, label correction for the 3
# least reliable videos by a frozen copy of the best model (validation IoU).
_base_ = ['./dlv3pluslite_r18-d8_1xb1-clip4-amp-25e_endovis18-256x320.py']
# every training frame with its previous frame (frame 0: frame 1), noisy
# labels, no shuffling (train_loader_1 of the original)
reliability_pipeline = [
    dict(
        type='SampleClip',
        policy=dict(type='ShiftedClipPolicy', clip_len=1, shift=-1)),
    dict(type='LoadVideoFrames', imdecode_backend='pillow'),
    dict(
        type='ClipTransformBroadcaster',
        share_random_params=True,
        transforms=[
            dict(type='SoftMaskResize', scale=_base_.img_scale,
                 seg_interpolation=_base_.label_interp)
        ]),
    dict(type='PackVideoSegInputs', pack_clip_labels=True,
         meta_keys=_base_.meta_keys),
]
custom_hooks = [
    dict(
        type='MSTFALHook',
        stage_epochs=(4, 6, 8),
        num_uncertain=3,
        best_metric='IoU',
        # 'alias' reproduces the original on one GPU (the training model
        # itself, reloaded with the best weights and trained in eval mode)
        correction='copy',
        reliability_dataloader=dict(
            batch_size=1,
            num_workers=2,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(
                type=_base_.dataset_type,
                data_root=_base_.data_root,
                split='train',
                label_dir=_base_.train_label_dir,
                pipeline=reliability_pipeline)))
]
