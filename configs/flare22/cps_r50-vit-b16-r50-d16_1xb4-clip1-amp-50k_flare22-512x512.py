# Cross pseudo supervision (kaylode/ivos reference module, 2.3 of the
# method): branch 1 (ResNet-50 + ViT-B/16, UPerHead, slice position) and
# branch 2 (DeepLabV3+ R50, OS 16), initialised from their pre-training runs,
# trained on batches of 2 labelled + 2 unlabelled FLARE22 slices for 50k
# iterations (fp16, one AdamW each, gradient clipping 10); tested with the
# ensemble softmax(softmax(o1) + softmax(o2)).
_base_ = [
    '../_base_/models/cps_r50-vit-b16_r50-d16.py',
    '../_base_/datasets/flare22_cps_512x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_cps_50k.py',
]
# Checkpoints of the pre-trained branches (the original's
# global.pretrained1/2). Defaults: the last checkpoints that tools/train.py
# writes for the two pre-training configs; give others on the command line,
# e.g. --cfg-options model.segmentor1.init_cfg.checkpoint=PATH1
# model.segmentor2.init_cfg.checkpoint=PATH2
branch1_checkpoint = ('work_dirs/upernetpos_r50-vit-b16_1xb2-clip1-amp-80k_'
                      'flare22-512x512/iter_80000.pth')
branch2_checkpoint = ('work_dirs/deeplabv3plus_r50-d16_1xb2-clip1-amp-80k_'
                      'flare22-512x512/iter_80000.pth')
model = dict(
    segmentor1=dict(
        init_cfg=dict(type='Pretrained', checkpoint=branch1_checkpoint),
        # the ImageNet weights are overwritten by the branch checkpoint
        backbone=dict(resnet=dict(init_cfg=None))),
    segmentor2=dict(
        init_cfg=dict(type='Pretrained', checkpoint=branch2_checkpoint),
        backbone=dict(init_cfg=None)))
