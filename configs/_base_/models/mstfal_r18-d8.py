# MS-TFAL's segmenter ("puredeeplab18"): ResNet-18 stem..layer2 (ImageNet)
# + two new dilated stages (output stride 8), and the DeepLabV3+-lite head
# whose 304-d L2-normalised [project; ASPP] embedding feeds TFAL.
# Images are /255 without mean/std, as the original.
num_classes = 12
crop_size = (256, 320)
data_preprocessor = dict(
    type='VideoSegDataPreProcessor',
    mean=[0., 0., 0.],
    std=[255., 255., 255.],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=0)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='MSTFALSegmentor',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet18OS8',
        dilations=(2, 4),
        norm_cfg=norm_cfg,
        # only conv1/bn1/layer1/layer2 are loaded (the dilated stages are new)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/'
            'resnet18-f37072fd.pth')),
    decode_head=dict(
        type='DeepLabV3PlusLiteHead',
        num_classes=num_classes,
        in_channels=512,
        channels=256,
        project_channels=48,
        dilations=(1, 6, 12, 18),
        dropout_ratio=0.,
        norm_cfg=norm_cfg,
        align_corners=False),
    # OhemCELoss2D(n_min = H * W // 16) over the 4 frames of a clip
    loss=dict(
        type='OhemCrossEntropyLoss',
        thresh=0.7,
        n_min=crop_size[0] * crop_size[1] // 16),
    noise_ratio=0.3,
    correction_weight=0.7)
