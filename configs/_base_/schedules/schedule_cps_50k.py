# CPS schedule of kaylode/ivos (configs/flare22v2/cps/pipeline.yaml): 50k
# iterations, fp16, one AdamW per branch (lr 1e-4, wd 1e-7, betas
# (0.937, 0.999)), gradient clipping 10 per branch, MultiStep [40k, 45k]
# gamma 0.5 for both optimisers (mmengine builds the same schedulers for
# every wrapper of an OptimWrapperDict). The original also stepped its
# schedulers once more at the end of each "epoch" (theseus
# SemiSupervisedTrainer): not reproduced.
optimizer = dict(
    type='AdamW', lr=1e-4, weight_decay=1e-7, betas=(0.937, 0.999))
optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    segmentor1=dict(
        type='AmpOptimWrapper',
        loss_scale='dynamic',
        optimizer=optimizer,
        clip_grad=dict(max_norm=10.0)),
    segmentor2=dict(
        type='AmpOptimWrapper',
        loss_scale='dynamic',
        optimizer=optimizer,
        clip_grad=dict(max_norm=10.0)))
param_scheduler = [
    dict(
        type='MultiStepLR',
        milestones=[40000, 45000],
        gamma=0.5,
        begin=0,
        end=50000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=50000, val_interval=5000)
val_cfg = dict(type='VideoValLoop')
test_cfg = dict(type='VideoTestLoop')
# the "epoch" of the consistency ramp: #labelled slices // labelled per batch
custom_hooks = [dict(type='CPSEpochLengthHook')]
# each branch its own DDP wrapper (the model steps two optimisers)
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(
        type='CheckpointHook', by_epoch=False, interval=1000,
        max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
