_base_ = './tmanet_r50-d8_4xb2-clip3-80k_cityscapes-seq-769x769.py'
model = dict(
    pretrained='open-mmlab://resnet18_v1c',
    backbone=dict(depth=18),
    decode_head=dict(in_channels=512, channels=128),
    auxiliary_head=dict(in_channels=256, channels=64))
