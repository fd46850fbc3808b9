_base_ = [
    '../_base_/models/tmanet_r50-d8.py',
    '../_base_/datasets/camvid_video_640x640.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_80k.py'
]
# crop, classes and memory frames come from the dataset config, so the
# pipeline, the data preprocessor, slide inference and the head agree
crop_size = _base_.crop_size
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(
        num_memory_frames=_base_.num_memory_frames,
        num_classes=_base_.num_classes),
    auxiliary_head=dict(num_classes=_base_.num_classes),
    test_cfg=dict(mode='slide', crop_size=crop_size, stride=(512, 512)))
randomness = dict(seed=0)
