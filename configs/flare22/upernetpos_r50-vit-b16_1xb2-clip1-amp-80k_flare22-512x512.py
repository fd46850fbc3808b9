# Pre-training of CPS branch 1 (TransUNet R50-ViT-B/16 with the slice
# position channel in kaylode/ivos; here ResNet-50 + ViT-B/16 hybrid encoder,
# UPerHead, position channel before the classifier: see
# configs/_base_/models/cps_r50-vit-b16_r50-d16.py) on the labelled slices
# of the FLARE22 train split: batch 2, OHEM-CE + Lovasz, 80k iterations,
# fp16, gradient clipping 1. Its last checkpoint initialises branch 1 of
# cps_r50-vit-b16-r50-d16_1xb4-clip1-amp-50k_flare22-512x512.py.
_base_ = [
    '../_base_/models/cps_r50-vit-b16_r50-d16.py',
    '../_base_/datasets/flare22_cps_512x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_flare22_80k.py',
]
model = dict(
    _delete_=True,
    data_preprocessor=_base_.data_preprocessor,
    **_base_.branch1)
# labelled slices only (the original's FLARE22V2LabelledCSVPosDataset)
train_dataloader = dict(
    _delete_=True,
    batch_size=2,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=_base_.labelled_train)
