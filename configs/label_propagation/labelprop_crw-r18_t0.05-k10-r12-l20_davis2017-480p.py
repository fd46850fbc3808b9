# CRW (Jabri et al., NeurIPS 2020) evaluation: T 0.05, top-k 10, radius 12,
# queue 20. Bring videowalk's pretrained.pth:
#   --cfg-options model.checkpoint=path/to/pretrained.pth
_base_ = [
    '../_base_/models/labelprop_r18.py',
    '../_base_/datasets/davis2017_480p.py', '../_base_/default_runtime.py'
]
model = dict(
    queue_len=20, temperature=0.05, topk=10, radius=12,
    checkpoint_format='crw')
