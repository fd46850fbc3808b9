# STCN propagation module of kaylode/ivos (2.4 of the method): triplets of
# FLARE22 CT slices (3 windows, 512x512, /255), max_jump curriculum 25 -> 3,
# 4, 5, 7, 3, OHEM-CE + Lovasz, batch 2, 60k iterations with fp16.
# Initialisation: the original started from the official STCN checkpoint
# (convert it with tools/model_converters/stcn2mmvidseg.py, e.g. with
# --drop-attention, and add --cfg-options load_from=<converted .pth>).
# Volumes are segmented by the two-stage inference (reference slices from
# the CPS model, propagated both ways with STCN.propagate_range); the
# streaming test loop below propagates each volume from the ground truth of
# its first slice (a VOS-style check, not the paper's protocol). The
# original's validation (GT reference slices) belongs to the two-stage
# inference, so no validation runs during training.
_base_ = [
    '../_base_/models/stcn_r50.py',
    '../_base_/datasets/flare22_stcn_512x512.py',
    '../_base_/default_runtime.py',
    '../_base_/schedules/schedule_stcn_60k.py',
]
val_dataloader = None
val_cfg = None
val_evaluator = None
