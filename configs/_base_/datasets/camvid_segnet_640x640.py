# CamVid in the SegNet layout (train/, trainannot/, ... 11 classes,
# 11 = Unlabelled -> ignored). Only labelled frames exist in this layout, so
# the memory frames are the four previous *labelled* frames of the sequence
# (1 Hz in train/test, 15 Hz in val), not the previous video frames.
_base_ = './camvid_video_640x640.py'
data_root = 'data/camvid_segnet/'
num_classes = 11
train_dataloader = dict(
    dataset=dict(data_root=data_root, layout='segnet', split='train'))
# validation on val (model selection), test on test, as the original
val_dataloader = dict(
    dataset=dict(data_root=data_root, layout='segnet', split='val'))
test_dataloader = dict(
    dataset=dict(data_root=data_root, layout='segnet', split='test'))
