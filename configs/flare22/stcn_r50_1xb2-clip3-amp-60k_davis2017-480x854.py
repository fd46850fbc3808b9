# STCN as a semi-supervised VOS model on DAVIS-2017 val (480p), streamed
# video by video from the first frame's annotation: the official STCN
# evaluation settings (eval_davis.py: top-k 20, memory every 5 frames, no
# last-frame memory) with the official network (CBAM in the value fusion).
# Weights: convert the official stcn.pth with
#   python tools/model_converters/stcn2mmvidseg.py stcn.pth stcn_mmvidseg.pth
# then: python tools/test.py <this config> stcn_mmvidseg.pth
# (or: tools/infer_video.py <this config> stcn_mmvidseg.pth <video>
#  --first-mask <mask.png>). The training part of the name is the FLARE22
# recipe of the base schedule; DAVIS itself is test-only here.
_base_ = [
    '../_base_/models/stcn_r50.py',
    '../_base_/datasets/davis2017_480p.py', '../_base_/default_runtime.py'
]
model = dict(
    data_preprocessor=dict(
        _delete_=True,
        type='VideoSegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    key_encoder=dict(init_cfg=None),
    value_encoder=dict(init_cfg=None),
    fuser_attention=True,
    # at most 50 working frames (the oldest go first): identical to the
    # official unbounded memory on DAVIS (no video over 250 frames) and
    # bounded on long videos
    test_cfg=dict(topk=20, mem_every=5, include_last=False, max_frames=50))
