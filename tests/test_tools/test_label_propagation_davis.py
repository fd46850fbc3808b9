"""LabelPropagator end to end through tools/test.py on real DAVIS videos."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from ._run import run, tool

pytestmark = pytest.mark.slow

CONFIG = '''
_base_ = {base!r}
test_pipeline = [
    dict(type='SampleClip',
         policy=dict(type='FixedOffsetClipPolicy', offsets=())),
    dict(type='LoadVideoFrames', with_label=False),
    dict(type='ClipTransformBroadcaster',
         transforms=[dict(type='Resize', scale=(214, 120), keep_ratio=True)]),
    dict(type='LoadVideoAnnotations'),
    dict(type='PackVideoSegInputs'),
]
test_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root={root!r}, binary_masks=True,
                 pipeline=test_pipeline))
model = dict(queue_len=5, checkpoint=None)
'''


def test_label_propagator_on_davis(tmp_path, shared_data, repo_root):
    base = osp.join(repo_root, 'configs', 'label_propagation',
                    'labelprop_crw-r18_t0.05-k10-r12-l20_davis2017-480p.py')
    root = osp.join(shared_data, 'davis2016')
    cfg = tmp_path / 'labelprop_davis.py'
    cfg.write_text(CONFIG.format(base=base, root=root))
    out = tmp_path / 'results'
    proc = run([tool('test.py'), str(cfg), 'none', '--work-dir',
                str(tmp_path / 'work'), '--out', str(out)])
    assert 'J&F-Mean' in proc.stdout + proc.stderr
    # official DAVIS results layout: palette PNGs per sequence and frame
    assert sorted(os.listdir(out)) == ['car-shadow', 'surf']
    files = sorted(os.listdir(out / 'car-shadow'))
    assert files == [f'{i:05d}.png' for i in range(40)]
    assert len(os.listdir(out / 'surf')) == 55
    first = Image.open(out / 'car-shadow' / '00000.png')
    assert first.mode == 'P' and first.size == (854, 480)
    gt = np.array(Image.open(osp.join(
        root, 'Annotations', '480p', 'car-shadow', '00000.png'))) // 255
    assert np.array_equal(np.array(first), gt)  # frame 0 = its annotation
    later = np.array(Image.open(out / 'car-shadow' / '00020.png'))
    assert set(np.unique(later)) <= {0, 1}
