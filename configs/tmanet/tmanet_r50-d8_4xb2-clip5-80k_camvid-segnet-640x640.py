_base_ = [
    '../_base_/models/tmanet_r50-d8.py',
    '../_base_/datasets/camvid_segnet_640x640.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
crop_size = (640, 640)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_memory_frames=4, num_classes=11),
    auxiliary_head=dict(num_classes=11),
    test_cfg=dict(mode='slide', crop_size=(640, 640), stride=(512, 512)))
randomness = dict(seed=0)
