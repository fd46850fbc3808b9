# SALI's schedule (train_video.py): Adam 1e-4, x0.1 at original epochs 50,
# 100, 150 (1-based; our epochs count from 0), epochs 1..199, gradient
# values clamped to +-0.5, validation every epoch with streaming memory.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=1e-4),
    clip_grad=dict(type='value', clip_value=0.5))
param_scheduler = [
    dict(type='MultiStepLR', milestones=[49, 99, 149], gamma=0.1,
         by_epoch=True)
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=199, val_interval=1)
val_cfg = dict(type='VideoValLoop')
test_cfg = dict(type='VideoTestLoop')
# max_skip curriculum: 5, then 10, 15, 20, 25 and 5 from the 26th epoch on,
# changed every 5 epochs (the original rebuilds its loader, and crashes there)
custom_hooks = [
    dict(
        type='StageScheduleHook',
        by_epoch=True,
        schedule=[
            dict(begin=0, clip_policy=dict(max_skip=5)),
            dict(begin=5, clip_policy=dict(max_skip=10)),
            dict(begin=10, clip_policy=dict(max_skip=15)),
            dict(begin=15, clip_policy=dict(max_skip=20)),
            dict(begin=20, clip_policy=dict(max_skip=25)),
            dict(begin=25, clip_policy=dict(max_skip=5)),
        ])
]
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2,
        save_best='maxDice', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
