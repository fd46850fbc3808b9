# TMANet (ICIP 2021): ResNetV1c-50 (output stride 8) shared by the key frame
# and the memory frames, TMAHead on stage 4, FCN auxiliary head on stage 3 of
# the key frame.
norm_cfg = dict(type='SyncBN', requires_grad=True)
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
    pretrained='open-mmlab://resnet50_v1c',
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        dilations=(1, 1, 2, 4),
        strides=(1, 2, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True),
    decode_head=dict(
        type='TMAHead',
        in_channels=2048,
        in_index=3,
        channels=512,
        num_memory_frames=2,
        key_channels=64,
        value_channels=256,
        matmul_norm=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.4)),
    # training: one backbone call per frame slot (key frame, then memory
    # frames oldest first) as in TMANet, each with its own batch-norm
    # statistics; 'pooled' makes one call on all frames (faster on CPU,
    # shared statistics). Inference pools (eval-mode BN: same features).
    backbone_calls='per_slot',
    # clip-mode evaluation as in TMANet; tools/infer_video.py streams with
    # num_memory_frames cached frames
    stream_cfg=None,
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
