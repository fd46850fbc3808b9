# A tiny temporal model: ResNetV1c-18 at 1/4 width, stride 8, and a
# TemporalAttentionHead reading the two previous frames.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='VideoSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='VideoEncoderDecoder',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNetV1c',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=3,
        strides=(1, 2, 1),
        dilations=(1, 1, 2),
        out_indices=(1, 2),
        norm_cfg=norm_cfg,
        contract_dilation=True),
    decode_head=dict(
        type='TemporalAttentionHead',
        in_channels=64,
        in_index=1,
        channels=64,
        key_channels=32,
        value_channels=64,
        dropout_ratio=0.1,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=32,
        in_index=0,
        channels=32,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=4,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    stream_cfg=dict(num_ref_frames=2),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
