_base_ = './tmanet_r50-d8_4xb2-clip5-80k_camvid-video-640x640.py'
optim_wrapper = dict(type='AmpOptimWrapper', loss_scale='dynamic')
