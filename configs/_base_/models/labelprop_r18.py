# Label propagation over a ResNet-18 with layer3 stride 1 and no layer4
# (256 channels at stride 8), the CRW / videowalk evaluation extractor.
model = dict(
    type='LabelPropagator',
    data_preprocessor=dict(
        type='VideoSegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        num_stages=3,
        strides=(1, 2, 1),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        norm_eval=True,
        style='pytorch'),
    queue_len=20,
    temperature=0.05,
    topk=10,
    radius=12,
    norm_mask=False,
    checkpoint=None,
    checkpoint_format='crw')
