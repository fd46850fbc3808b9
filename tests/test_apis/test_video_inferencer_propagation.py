"""VideoInferencer with mask-propagation models (first and later masks)."""
import os
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmvidseg.apis import VideoInferencer
from mmvidseg.datasets.davis_dataset import davis_palette
from mmvidseg.evaluation.functional.davis_measures import region_similarity
from mmvidseg.utils.io import read_mask

from ..test_tools._run import run, tool

PROP_MODEL = dict(
    type='LabelPropagator',
    data_preprocessor=dict(
        type='VideoSegDataPreProcessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(type='ResNet', depth=18, num_stages=3, strides=(1, 2, 1),
                  dilations=(1, 1, 1), out_indices=(2, ), base_channels=16,
                  style='pytorch'),
    queue_len=3, temperature=0.05, topk=10, radius=6)


def _cfg():
    return Config(dict(default_scope='mmseg', model=PROP_MODEL))


@pytest.fixture(scope='module')
def davis_clip(shared_data, tmp_path_factory):
    """The first 6 frames of car-shadow (links) and their annotations."""
    root = osp.join(shared_data, 'davis2016')
    seq = 'car-shadow'
    frames = tmp_path_factory.mktemp('car-shadow')
    names = sorted(os.listdir(osp.join(root, 'JPEGImages/480p', seq)))[:6]
    for n in names:
        os.symlink(osp.join(root, 'JPEGImages/480p', seq, n), frames / n)
    gts = [read_mask(osp.join(root, 'Annotations/480p', seq,
                              n.replace('.jpg', '.png'))) for n in names]
    return str(frames), gts, [osp.splitext(n)[0] for n in names]


def test_first_mask_through_a_real_davis_sequence(davis_clip, tmp_path):
    frames, gts, names = davis_clip
    torch.manual_seed(0)
    mask0 = tmp_path / 'first.png'
    Image.fromarray((gts[0] * 255).astype(np.uint8)).save(mask0)  # binary
    inf = VideoInferencer(_cfg())
    res = inf(frames, out_dir=str(tmp_path / 'out'), overlay='gif',
              first_mask=str(mask0), progress=False)
    assert res['num_frames'] == 6
    assert osp.isfile(res['overlay'])
    files = sorted(os.listdir(res['masks_dir']))
    assert files == [f'{n}.png' for n in names]
    for i, f in enumerate(files):
        img = Image.open(osp.join(res['masks_dir'], f))
        assert img.mode == 'P' and img.size == (854, 480)
        assert img.getpalette()[:9] == sum(davis_palette(3), [])
        mask = np.asarray(img)
        assert set(np.unique(mask)) <= {0, 1}
        if i == 0:
            assert np.array_equal(mask, gts[0])
        else:  # the car is followed, not lost or spread everywhere
            assert region_similarity(gts[i] == 1, mask == 1) > 0.5, i


def test_masks_given_at_later_frames_join_the_memory():
    g = np.random.default_rng(0)  # a cut to another scene at frame 3
    scenes = [g.integers(0, 255, (96, 128, 3), dtype=np.uint8)
              for _ in range(2)]
    frames = [scenes[0]] * 3 + [scenes[1]] * 3
    first = np.zeros((96, 128), np.int64)
    first[10:40, 10:50] = 1
    later = first.copy()
    later[50:90, 60:120] = 2  # an object that appears at frame 3
    torch.manual_seed(0)
    inf = VideoInferencer(_cfg())
    seen = []
    orig = inf.model.predict

    def predict(inputs, data_samples):
        out = orig(inputs, data_samples)
        seen.append(inf.model._state.bank.num_frames)
        return out

    inf.model.predict = predict
    res = inf(frames, first_mask=first, given_masks={3: later},
              progress=False)
    masks = res['masks']
    assert np.array_equal(masks[0], first)
    assert np.array_equal(masks[3], later)
    # frame 3 added a permanent entry beside frame 0: queue 3 + 2
    assert seen == [4, 4, 4, 5, 5, 5]
    # the new object is propagated to the next frames of the new scene
    for t in (4, 5):
        assert region_similarity(later == 2, masks[t] == 2) > 0.3, t
    # the state is reset between calls: a new video starts from its mask
    again = inf(frames[:2], first_mask=first, progress=False)['masks']
    assert np.array_equal(again[0], first)


def test_a_folder_of_videos(davis_clip, tmp_path):
    frames, gts, names = davis_clip
    videos = tmp_path / 'videos'
    videos.mkdir()
    masks = tmp_path / 'masks'
    (masks / 'b').mkdir(parents=True)
    for v in ('a', 'b'):
        (videos / v).mkdir()
        for n in sorted(os.listdir(frames))[:3]:
            os.symlink(osp.join(frames, n), videos / v / n)
    Image.fromarray(gts[0].astype(np.uint8)).save(masks / 'a.png')
    Image.fromarray(gts[0].astype(np.uint8)).save(masks / 'b' / '0.png')
    inf = VideoInferencer(_cfg())
    res = inf(str(videos), out_dir=str(tmp_path / 'out'), overlay=None,
              first_mask=str(masks), progress=False)
    assert sorted(res['videos']) == ['a', 'b']
    for v in ('a', 'b'):
        out = sorted(os.listdir(tmp_path / 'out' / v / 'masks'))
        assert out == [f'{n}.png' for n in names[:3]]
    with pytest.raises(FileNotFoundError, match="video 'a'"):
        os.remove(masks / 'a.png')
        inf(str(videos), out_dir=str(tmp_path / 'o2'), first_mask=str(masks),
            progress=False)


def test_mask_errors(tmp_path):
    inf = VideoInferencer(_cfg())
    frames = [np.zeros((16, 16, 3), np.uint8)] * 2
    with pytest.raises(ValueError, match='first_mask'):
        inf(frames, progress=False)
    with pytest.raises(ValueError, match=r'mask size \(8, 8\)'):
        inf(frames, first_mask=np.zeros((8, 8), np.int64), progress=False)
    rgb = tmp_path / 'rgb.png'
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(rgb)
    with pytest.raises(ValueError, match='rgb.png'):
        inf(frames, first_mask=str(rgb), progress=False)
    with pytest.raises(FileNotFoundError, match='missing.png'):
        inf(frames, first_mask=str(tmp_path / 'missing.png'),
            progress=False)
    from ..conftest import make_tiny_model_cfg
    semantic = VideoInferencer(Config(dict(
        default_scope='mmseg', model=make_tiny_model_cfg(stream_refs=1))))
    with pytest.raises(ValueError, match='does not take given masks'):
        semantic(frames, first_mask=np.zeros((16, 16), np.int64),
                 progress=False)


def test_cli_first_mask(davis_clip, tmp_path):
    frames, gts, _ = davis_clip
    cfg = tmp_path / 'prop.py'
    cfg.write_text(f"default_scope = 'mmseg'\nmodel = {PROP_MODEL!r}\n")
    mask0 = tmp_path / 'first.png'
    Image.fromarray(gts[0].astype(np.uint8)).save(mask0)
    out = tmp_path / 'out'
    proc = run([tool('infer_video.py'), str(cfg), 'none', frames,
                '--first-mask', str(mask0), '--out-dir', str(out),
                '--overlay', 'none'])
    assert '6 frames' in proc.stdout
    assert len(os.listdir(out / 'masks')) == 6
    proc = run([tool('infer_video.py'), str(cfg), 'none', frames,
                '--out-dir', str(out)], check=False)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith(
        'infer_video.py: error:') and 'first_mask' in proc.stderr
    assert 'Traceback' not in proc.stderr
