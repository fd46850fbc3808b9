_base_ = [
    '../_base_/models/tempattn_r18-tiny.py',
    '../_base_/datasets/procedural_video.py',
    '../_base_/default_runtime.py', '../_base_/schedules/schedule_600it.py'
]
randomness = dict(seed=0)
