# SALI (MICCAI 2024): PVTv2-B5 -> RFB necks (32 channels at 1/8, 1/16, 1/32)
# -> long-term memory read, short-term PCD alignment, non-local fusion,
# SINet-V2 decoder. Streaming test with SALI's memory protocol.
data_preprocessor = dict(
    type='VideoSegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    # labels are soft 0..255 masks: pad (never needed at 352x352) with 0
    seg_pad_val=0)
model = dict(
    type='SALISegmentor',
    data_preprocessor=data_preprocessor,
    # whai362's pvt_v2_b5 (mmdet's PVTv2 with the reference LayerNorm eps)
    backbone=dict(
        type='ReferencePVTv2',
        embed_dims=64,
        num_layers=[3, 6, 40, 3],
        num_heads=[1, 2, 5, 8],
        sr_ratios=[8, 4, 2, 1],
        mlp_ratios=(4, 4, 4, 4),
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.3,
        norm_cfg=dict(type='LN', eps=1e-6),
        out_indices=(0, 1, 2, 3)),
    neck=dict(
        type='RFBNeck',
        in_channels=(128, 320, 512),
        out_channels=32,
        in_index=(1, 2, 3)),
    decode_head=dict(
        type='SALIHead',
        channels=32,
        key_channels=4,
        value_channels=16,
        deform_groups=8,
        pool_sizes=(2, 4, 8),
        topk=20,
        # weighted_bce=False reproduces the original's plain-mean BCE
        loss_decode=dict(type='StructureLoss', weighted_bce=False)),
    mem_freq=5,
    # the original MemoryBank default (train_video.py's --test_mem_length 50
    # is never passed to it)
    test_mem_length=35,
    gt_scale=255.)
