"""SALI through tools/train.py, tools/test.py and tools/infer_video.py on a
fake SUN-SEG, real laparoscopic pixels (CholecSeg8k, grasper as the polyp
class) and a short video made from real frames."""
import copy
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config

from ..test_datasets.sunseg_fake import make_fake_sunseg
from ._run import ROOT, run, tool

pytestmark = pytest.mark.slow

CONFIG = osp.join(ROOT, 'configs', 'sali',
                  'sali_pvtv2-b5_1xb8-clip3-199e_sunseg-352x352.py')
# PVTv2 at 1/8 of B5's width, one block per stage (channels 8/16/40/64);
# 64x64 frames (the non-local pooling of 8 needs 256 and more: 2 here)
TINY_MODEL = dict(
    backbone=dict(
        _delete_=True, type='mmdet.PyramidVisionTransformerV2',
        embed_dims=8, num_layers=[1, 1, 1, 1], num_heads=[1, 2, 5, 8],
        sr_ratios=[8, 4, 2, 1], qkv_bias=True, drop_path_rate=0.0),
    neck=dict(in_channels=(16, 40, 64)),
    decode_head=dict(pool_sizes=(2, 2, 2)),
    test_mem_length=3)


def _set_scale(obj, scale):
    if isinstance(obj, dict):
        if obj.get('type') == 'SoftMaskResize':
            obj['scale'] = scale
        for v in obj.values():
            _set_scale(v, scale)
    elif isinstance(obj, list):
        for v in obj:
            _set_scale(v, scale)


def tiny_config(tmp_path, data_root, epochs=1):
    cfg = Config.fromfile(CONFIG)
    cfg.merge_from_dict(dict(model=copy.deepcopy(TINY_MODEL)))
    _set_scale(cfg._cfg_dict, (64, 64))
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[split]
        loader.num_workers = 0
        loader.persistent_workers = False
        loader.dataset.data_root = str(data_root)
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_epochs = epochs
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(tmp_path / 'work')
    path = str(tmp_path / 'sali_tiny.py')
    cfg.dump(path)
    return path


def _metrics(work_dir, key='maxDice'):
    records = []
    for root, _, files in os.walk(work_dir):
        for f in files:
            if f.endswith('.json'):
                for line in open(osp.join(root, f)):
                    if line.strip():
                        r = json.loads(line)
                        if isinstance(r, dict) and key in r:
                            records.append(r)
    assert records, f'no {key} under {work_dir}'
    return records[-1]


def test_train_val_test_on_fake_sunseg(tmp_path):
    data = tmp_path / 'SUN-SEG'
    make_fake_sunseg(str(data), cases=2, frames=5, size=(40, 48))
    cfg = tiny_config(tmp_path, data)
    run([tool('train.py'), cfg])
    work = tmp_path / 'work'
    assert osp.isfile(work / 'epoch_1.pth')
    # validation streamed the cases with the VPS protocol and kept the best
    assert any(f.startswith('best_maxDice') for f in os.listdir(work))
    preds = tmp_path / 'preds'
    run([tool('test.py'), cfg, str(work / 'epoch_1.pth'), '--work-dir',
         str(tmp_path / 'test'), '--cfg-options',
         f'test_evaluator.out_dir={preds}'])
    m = _metrics(tmp_path / 'test')
    for k in ('Smeasure', 'meanEm', 'wFmeasure', 'meanFm', 'meanSen',
              'maxDice'):
        assert np.isfinite(m[k]), k
    # predictions in the benchmark's layout, at the GT size
    cases = sorted(os.listdir(preds))
    assert len(cases) == 2
    names = sorted(os.listdir(preds / cases[0]))
    assert len(names) == 5
    grey = cv2.imread(str(preds / cases[0] / names[0]), cv2.IMREAD_UNCHANGED)
    assert grey.shape == (40, 48) and grey.dtype == np.uint8


def _cholec_sunseg(shared_data, root, frames=10):
    """The CholecSeg8k clip as a SUN-SEG split: grasper (31) = 255."""
    src = osp.join(shared_data, 'cholecseg8k_clip')
    names = sorted(os.listdir(osp.join(src, 'frames')))[:frames]
    for split in ('TrainDataset', 'TestEasyDataset/Unseen',
                  'TestHardDataset/Seen'):
        fdir = osp.join(root, split, 'Frame', 'cholec')
        gdir = osp.join(root, split, 'GT', 'cholec')
        os.makedirs(fdir)
        os.makedirs(gdir)
        for n in names:
            os.symlink(osp.join(src, 'frames', n), osp.join(fdir, n))
            m = cv2.imread(osp.join(src, 'masks', n[:-4] + '.png'),
                           cv2.IMREAD_GRAYSCALE)
            cv2.imwrite(osp.join(gdir, n[:-4] + '.png'),
                        np.where(m == 31, 255, 0).astype(np.uint8))
    return names


def test_real_pixels_cholecseg8k(tmp_path, shared_data):
    data = tmp_path / 'cholec'
    _cholec_sunseg(shared_data, str(data))
    cfg = tiny_config(tmp_path, data)
    run([tool('train.py'), cfg])
    run([tool('test.py'), cfg, str(tmp_path / 'work' / 'epoch_1.pth'),
         '--work-dir', str(tmp_path / 'test')])
    m = _metrics(tmp_path / 'test')
    assert 0 <= m['maxDice'] <= 1 and 0 <= m['Smeasure'] <= 1


def test_infer_video_writes_masks_and_overlay(tmp_path, shared_data):
    src = osp.join(shared_data, 'cholecseg8k_clip', 'frames')
    names = sorted(os.listdir(src))[:6]
    video = str(tmp_path / 'colonoscopy.avi')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'MJPG'), 10,
                             (214, 120))
    for n in names:
        writer.write(cv2.resize(cv2.imread(osp.join(src, n)), (214, 120)))
    writer.release()
    data = tmp_path / 'SUN-SEG'
    make_fake_sunseg(str(data), cases=1, frames=3)
    cfg = tiny_config(tmp_path, data)
    out = tmp_path / 'out'
    run([tool('infer_video.py'), cfg, 'none', video, '--out-dir', str(out),
         '--overlay', 'gif'])
    masks = sorted(os.listdir(out / 'masks'))
    assert len(masks) == 6
    m = cv2.imread(str(out / 'masks' / masks[0]), cv2.IMREAD_UNCHANGED)
    assert m.shape == (120, 214) and set(np.unique(m)) <= {0, 1}
    assert osp.isfile(out / 'overlay.gif')
