# SALI with PVTv2-B5 on SUN-SEG, the original setting: batch 8 (the
# original splits it over two GPUs with DataParallel; 2xb4 with SyncBN is
# the distributed equivalent), 352x352, 199 epochs, validation on
# TestHardDataset/Seen, test on TestEasyDataset/Unseen (switch with
# --cfg-options test_dataloader.dataset.split=TestHardDataset/Unseen).
_base_ = [
    '../_base_/models/sali_pvtv2-b5.py',
    '../_base_/datasets/sunseg_352x352.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_sali_199e.py',
]
# ImageNet PVTv2-B5 from whai362/PVT (pvt_v2_b5.pth; mmdet converts its key
# names when loading). The original loads its --pretrained_weights into the
# whole model by key intersection, so a raw ImageNet file loads nothing
# there: see configs/sali/README.md.
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained',
                      checkpoint='pretrained/pvt_v2_b5.pth')))
randomness = dict(seed=2021)
