_base_ = [
    '../_base_/models/tempattn_r18-tiny.py',
    '../_base_/datasets/procedural_video.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600it.py'
]
# crop, classes and memory frames come from the dataset config, so the
# pipeline, the data preprocessor, the heads and the streaming cache agree
crop_size = _base_.crop_size
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=_base_.num_classes),
    auxiliary_head=dict(num_classes=_base_.num_classes),
    stream_cfg=dict(num_ref_frames=_base_.num_memory_frames))
randomness = dict(seed=0)
