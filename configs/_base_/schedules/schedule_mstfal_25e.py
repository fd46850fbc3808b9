# MS-TFAL's schedule (train_MS_TFAL.py): Adam 1e-4, no weight decay, no LR
# schedule; int(56000 iterations / 2235 clips) = 25 epochs of one clip per
# step (~56k steps). The original validates 4 times per epoch on every 4th
# test frame and keeps the best IoU; here once per epoch.
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='Adam', lr=1e-4),
    clip_grad=None)
param_scheduler = []
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=25, val_interval=1)
val_cfg = dict(type='VideoValLoop')
test_cfg = dict(type='VideoTestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=True),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=True, interval=1, max_keep_ckpts=2,
        save_best='IoU', rule='greater'),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
