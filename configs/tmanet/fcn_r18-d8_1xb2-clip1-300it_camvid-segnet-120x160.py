# The per-frame counterpart of tmanet_r18-d8_1xb2-clip5-300it_camvid-segnet-
# 120x160: the same backbone, auxiliary head, data, schedule and seed, and an
# FCN head of about the TMA head's size on the key frame alone (no temporal
# memory). The first real-data comparison of issue 11.
_base_ = './tmanet_r18-d8_1xb2-clip5-300it_camvid-segnet-120x160.py'
model = dict(
    decode_head=dict(
        _delete_=True,
        type='FCNHead',
        in_channels=512,
        in_index=3,
        channels=128,
        num_convs=2,
        concat_input=True,
        dropout_ratio=0.1,
        num_classes=_base_.num_classes,
        norm_cfg=_base_.bn,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    stream_cfg=None)
train_pipeline = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=())),
] + _base_.train_pipeline[1:]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
