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
# ImageNet PVTv2-B5 (whai362) converted with
# tools/model_converters/sali2mmvidseg.py pvt_v2_b5.pth pvt_v2_b5_mmdet.pth
model = dict(
    backbone=dict(
        init_cfg=dict(
            type='Pretrained', checkpoint='pretrained/pvt_v2_b5_mmdet.pth')))
randomness = dict(seed=2021)
