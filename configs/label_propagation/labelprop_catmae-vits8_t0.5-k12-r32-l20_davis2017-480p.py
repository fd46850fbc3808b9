# CatMAE ViT-S/8: T 0.5, top-k 12, radius 32, queue 20; stride 8.
_base_ = './labelprop_catmae-vits16_t0.7-k8-r18-l20_davis2017-480p.py'
model = dict(
    backbone=dict(patch_size=8), temperature=0.5, topk=12, radius=32)
