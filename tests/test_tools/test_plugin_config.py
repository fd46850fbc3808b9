"""mmvidseg used from another repository through custom_imports only."""
import os.path as osp
import textwrap

import pytest

from ._run import run

pytestmark = pytest.mark.slow

CONFIG = '''
_base_ = [
    'mmseg::_base_/models/fcn_r50-d8.py',
    'mmseg::_base_/default_runtime.py',
    'mmseg::_base_/schedules/schedule_20k.py',
]
custom_imports = dict(imports=['mmvidseg'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='VideoEncoderDecoder',
    pretrained=None,
    data_preprocessor=dict(type='VideoSegDataPreProcessor', size=(32, 32)),
    backbone=dict(depth=18, norm_cfg=norm_cfg),
    decode_head=dict(
        _delete_=True, type='TemporalAttentionHead', in_channels=512,
        in_index=3, channels=32, num_classes=3, norm_cfg=norm_cfg,
        loss_decode=dict(type='CrossEntropyLoss', loss_weight=1.0)),
    auxiliary_head=dict(in_channels=256, num_classes=3, norm_cfg=norm_cfg))
train_dataloader = dict(
    batch_size=2, num_workers=0,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type='ProceduralVideoDataset', num_videos=2, num_frames=4,
        num_classes=3, img_size=(32, 32), cache_dir=CACHE,
        pipeline=[
            dict(type='SampleClip', policy=dict(
                type='FixedOffsetClipPolicy', offsets=(-2, -1))),
            dict(type='LoadVideoFrames'),
            dict(type='ClipTransformBroadcaster', transforms=[
                dict(type='RandomFlip', prob=0.5)]),
            dict(type='PackVideoSegInputs'),
        ]))
train_cfg = dict(max_iters=3, val_interval=1000)
val_cfg = None
test_cfg = None
default_hooks = dict(logger=dict(interval=1))
'''

SCRIPT = '''
import sys
from mmengine.config import Config
from mmengine.runner import Runner
cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
runner = Runner.from_cfg(cfg)
assert type(runner.model).__name__ == 'VideoEncoderDecoder'
runner.train()
assert runner.iter == 3
print('PLUGIN-OK', type(runner.model.decode_head).__name__)
'''


def test_stock_mmseg_bases_with_custom_imports(tmp_path):
    user_repo = tmp_path / 'other_repo'
    user_repo.mkdir()
    cfg = user_repo / 'my_video_config.py'
    cfg.write_text(f'CACHE = {str(tmp_path / "cache")!r}\n' +
                   textwrap.dedent(CONFIG))
    script = user_repo / 'train_it.py'
    script.write_text(SCRIPT)
    proc = run([str(script), str(cfg), str(tmp_path / 'work')],
               cwd=str(user_repo), add_root=False)
    assert 'PLUGIN-OK TemporalAttentionHead' in proc.stdout
    assert osp.isdir(tmp_path / 'work')
