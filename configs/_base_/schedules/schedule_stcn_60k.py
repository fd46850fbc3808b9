# STCN schedule of kaylode/ivos (configs/flare22v2/stcn/pipeline.yaml): 60k
# iterations, fp16, AdamW lr 1e-4, wd 1e-7, betas (0.937, 0.999), gradient
# clipping 10, MultiStep [45k, 55k] gamma 0.5, and the max_jump curriculum of
# callbacks/stcn_callback.py: from the dataset's 25 to 3, 4, 5, 7, 3 at
# round(f * 60000) for f = 0.1, 0.2, 0.3, 0.4, 0.9 (the last fraction, 1.0,
# never fires). The original changed max_jump at the first epoch start after
# each threshold; here exactly at the iteration.
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(
        type='AdamW', lr=1e-4, weight_decay=1e-7, betas=(0.937, 0.999)),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(
        type='MultiStepLR',
        milestones=[45000, 55000],
        gamma=0.5,
        begin=0,
        end=60000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=60000,
                 val_interval=5000)
val_cfg = dict(type='VideoValLoop')
test_cfg = dict(type='VideoTestLoop')
custom_hooks = [
    dict(
        type='StageScheduleHook',
        by_epoch=False,
        schedule=[
            dict(begin=0, clip_policy=dict(max_jump=25)),
            dict(begin=6000, clip_policy=dict(max_jump=3)),
            dict(begin=12000, clip_policy=dict(max_jump=4)),
            dict(begin=18000, clip_policy=dict(max_jump=5)),
            dict(begin=24000, clip_policy=dict(max_jump=7)),
            dict(begin=54000, clip_policy=dict(max_jump=3)),
        ])
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=100, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=500,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
