# CPS reference model of kaylode/ivos (source/cps, configs/flare22v2/cps):
# two 2D segmenters of the 14 FLARE22 classes trained with cross pseudo
# supervision, ensembled at test time.
#
# The original branches are not in the OpenMMLab stack (no timm / smp):
# * branch 1, TransUNet R50-ViT-B/16 + slice position ("TransUnetPE"): here
#   the same encoder design from mmseg parts (ResNetViTHybrid: ResNet-50
#   V1c stages 1-3, stride 16, 1024 ch -> 1x1 patch embedding -> ViT-B, 12
#   layers, final LN) and UPerHead on [1/4, 1/8, ViT 1/16] instead of the
#   cascaded-upsampler decoder; the slice position is one more constant
#   channel before the 1x1 classifier at 1/4 resolution (TransUNet: a 3x3
#   conv at full resolution). BN instead of GN + weight standardisation;
#   only the ResNet part has ImageNet weights (no R50+ViT-B/16 checkpoint).
# * branch 2, DeepLabV3+ EfficientNet-b3 (smp: output stride 16, ASPP rates
#   12/24/36, 256 decoder channels): here mmseg DeepLabV3+ with ResNet-50
#   V1c at output stride 16 (dilated last stage), same rates, 256 channels.
# No dropout before either classifier (as TransUNet and smp).
norm_cfg = dict(type='SyncBN', requires_grad=True)
num_classes = 14
# CT slices: 3 windows in [0, 255] -> /255 only (no mean/std)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    bgr_to_rgb=False,
    pad_val=0,
    seg_pad_val=255,
    size=(512, 512))
# losses of the individual pre-training (the released branches are named
# *_ohmce_lvsz: theseus OhemCELoss (default thresh 0.7, n_min = #pixels // 16)
# + LovaszSoftmax (per image, present classes))
pretrain_losses = [
    dict(type='OhemCrossEntropyLoss', thresh=0.7, n_min_divisor=16,
         loss_weight=1.0),
    dict(type='LovaszLoss', loss_type='multi_class', classes='present',
         per_image=True, reduction='mean', loss_weight=1.0),
]
branch1 = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='ResNetViTHybrid',
        resnet=dict(
            type='ResNetV1c',
            depth=50,
            num_stages=3,
            out_indices=(0, 1, 2),
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            norm_cfg=norm_cfg,
            norm_eval=False,
            style='pytorch',
            contract_dilation=True,
            init_cfg=dict(
                type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
        vit=dict(
            type='VisionTransformer',
            img_size=(32, 32),  # 512 / 16 tokens per side
            patch_size=1,
            in_channels=1024,
            embed_dims=768,
            num_layers=12,
            num_heads=12,
            mlp_ratio=4,
            out_indices=(11, ),
            qkv_bias=True,
            drop_rate=0.1,
            attn_drop_rate=0.0,
            drop_path_rate=0.0,
            with_cls_token=False,
            patch_bias=True,
            final_norm=True,
            norm_cfg=dict(type='LN', eps=1e-6),
            interpolate_mode='bicubic')),
    decode_head=dict(
        type='SlicePositionHead',
        head=dict(
            type='UPerHead',
            in_channels=[256, 512, 768],
            in_index=[0, 1, 2],
            pool_scales=(1, 2, 3, 6),
            channels=256,
            dropout_ratio=0.0,
            num_classes=num_classes,
            norm_cfg=norm_cfg,
            align_corners=False,
            loss_decode=pretrain_losses)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
branch2 = dict(
    type='EncoderDecoder',
    backbone=dict(
        type='ResNetV1c',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 1),
        dilations=(1, 1, 1, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=True,
        init_cfg=dict(
            type='Pretrained', checkpoint='open-mmlab://resnet50_v1c')),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=2048,
        in_index=3,
        channels=256,
        dilations=(1, 12, 24, 36),
        c1_in_channels=256,
        c1_channels=48,
        dropout_ratio=0.0,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=pretrain_losses),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
model = dict(
    type='CPSSegmentor',
    data_preprocessor=data_preprocessor,
    segmentor1=branch1,
    segmentor2=branch2,
    slice_position=(True, False),
    # ivos cps/pipeline.yaml: sup = CE + LovaszSoftmax, unsup = LovaszSoftmax
    sup_loss=[
        dict(type='CrossEntropyLoss', avg_non_ignore=True, loss_weight=1.0),
        dict(type='LovaszLoss', loss_type='multi_class', classes='present',
             per_image=True, reduction='mean', loss_weight=1.0),
    ],
    unsup_loss=dict(type='LovaszLoss', loss_type='multi_class',
                    classes='present', per_image=True, reduction='mean',
                    loss_weight=1.0),
    # 'probs': the original feeds softmax outputs to a loss that applies
    # softmax again; 'logits' for a single softmax
    unsup_input='probs',
    consistency=0.1,
    # the original: e = iters // (#labelled slices // 2), R = 200 "epochs"
    # (CPSEpochLengthHook sets the epoch length); with thousands of labelled
    # slices the weight stays below ~0.003 for the whole 50k run. For a
    # weight that reaches 0.1: ramp_by='iter', ramp_length=<iterations>.
    ramp_by='epoch',
    ramp_length=200,
    test_cfg=dict(mode='ensemble'))
