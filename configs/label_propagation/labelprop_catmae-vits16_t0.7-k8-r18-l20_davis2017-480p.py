# CatMAE ViT-S/16 (DAVIS.md setting for all weights but ViT-S/8):
# T 0.7, top-k 8, radius 18, queue 20; patch tokens at stride 16.
# Bring the encoder weights: --cfg-options model.checkpoint=...
_base_ = [
    '../_base_/models/labelprop_r18.py',
    '../_base_/datasets/davis2017_480p.py', '../_base_/default_runtime.py'
]
model = dict(
    backbone=dict(
        _delete_=True,
        type='VisionTransformer',
        img_size=(224, 224),
        patch_size=16,
        embed_dims=384,
        num_layers=12,
        num_heads=6,
        mlp_ratio=4,
        qkv_bias=True,
        patch_bias=True,
        out_indices=(11, ),
        final_norm=True,
        with_cls_token=True,
        output_cls_token=False,
        interpolate_mode='bicubic',
        norm_cfg=dict(type='LN', eps=1e-6)),
    queue_len=20,
    temperature=0.7,
    topk=8,
    radius=18,
    checkpoint_format='timm_vit')
