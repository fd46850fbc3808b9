# Individual pre-training of each CPS branch in kaylode/ivos
# (configs/flare22v2/normal/pipeline*.yaml): 80k iterations, fp16, AdamW
# (lr 1e-4, wd 1e-7, betas (0.937, 0.999)), gradient clipping 1.0,
# MultiStep [40k, 70k] gamma 0.5.
optimizer = dict(
    type='AdamW', lr=1e-4, weight_decay=1e-7, betas=(0.937, 0.999))
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=optimizer,
    clip_grad=dict(max_norm=1.0))
param_scheduler = [
    dict(
        type='MultiStepLR',
        milestones=[40000, 70000],
        gamma=0.5,
        begin=0,
        end=80000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=80000, val_interval=8000)
val_cfg = dict(type='VideoValLoop')
test_cfg = dict(type='VideoTestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=1000,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
