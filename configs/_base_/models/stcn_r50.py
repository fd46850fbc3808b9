# STCN as trained by kaylode/ivos (configs/flare22v2/stcn/pipeline.yaml):
# key encoder ResNet-50 (conv1..layer3, 1024/512/256 channels at 1/16, 1/8,
# 1/4), 64-d keys, value encoder ResNet-18 on [image; mask; other objects]
# fused with the key features (512-d values, no CBAM), decoder with 1/8 and
# 1/4 skips, soft aggregation; OHEM-CE (thresh 0.5, n_min = pixels // 16)
# + Lovasz-softmax on triplets; top-k 20, memory every 5 slices and the
# last one at inference. CT slices are only divided by 255 (the original's
# normalisation). The encoders start from ImageNet (torchvision) weights;
# the value encoder's first conv then keeps its random init (5 input
# channels). To start from the official STCN weights as the original did,
# convert them with tools/model_converters/stcn2mmvidseg.py and pass
# --cfg-options load_from=<converted .pth> (see that tool for --heads-only).
norm_cfg = dict(type='BN', requires_grad=True)
resnet = dict(
    type='ResNet',
    num_stages=3,
    strides=(1, 2, 2),
    dilations=(1, 1, 1),
    out_indices=(0, 1, 2),
    style='pytorch',
    norm_cfg=norm_cfg)
model = dict(
    type='STCN',
    data_preprocessor=dict(
        type='VideoSegDataPreProcessor',
        mean=[0., 0., 0.],
        std=[255., 255., 255.],
        size_divisor=16),
    key_encoder=dict(
        resnet,
        depth=50,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    value_encoder=dict(
        resnet,
        depth=18,
        in_channels=5,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    key_dim=64,
    value_dim=512,
    decoder_channels=(512, 256, 256),
    fuser_attention=False,
    loss_ohem=dict(
        type='OhemCrossEntropyLoss',
        thresh=0.5,
        n_min_divisor=16,
        loss_name='loss_ohem'),
    loss_lovasz=dict(
        type='LovaszLoss',
        loss_type='multi_class',
        classes='present',
        per_image=False,
        reduction='none',
        loss_name='loss_lovasz'),
    train_cfg=dict(seed=None),
    test_cfg=dict(
        topk=20,
        mem_every=5,
        include_last=True,
        max_frames=None,
        prune='fifo',
        storage_device=None))
