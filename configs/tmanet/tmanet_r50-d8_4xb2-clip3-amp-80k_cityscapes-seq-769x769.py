_base_ = './tmanet_r50-d8_4xb2-clip3-80k_cityscapes-seq-769x769.py'
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
