# The plain segmenter of MS-TFAL (DeepLabV3+-lite, ResNet-18 OS8) trained on
# the noisy EndoVis18 labels with OHEM cross-entropy and nothing else (the
# baseline MS-TFAL is compared with), with the original's AMP.
_base_ = [
    '../_base_/models/mstfal_r18-d8.py',
    '../_base_/datasets/endovis18_256x320.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_mstfal_25e.py',
]
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
