# DAVIS-2017 semi-supervised val, 480p, streamed video by video.
dataset_type = 'DAVISDataset'
data_root = 'data/DAVIS/'
test_pipeline = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=())),
    dict(type='LoadVideoFrames'),
    dict(type='PackVideoSegInputs'),
]
test_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='VideoSequentialSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='val',
        resolution='480p',
        test_mode=True,
        pipeline=test_pipeline))
test_evaluator = dict(type='DAVISMetric')
test_cfg = dict(type='VideoTestLoop')
# tools/test.py --out DIR writes DAVIS palette PNGs DIR/<sequence>/<frame>.png
prediction_writer = dict(palette='davis')
