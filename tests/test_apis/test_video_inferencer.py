import os

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

from mmvidseg.apis import VideoInferencer
from mmvidseg.apis.overlay_writer import OverlayWriter
from mmvidseg.datasets.procedural_video import render_video

from ..conftest import make_tiny_model_cfg


def _cfg(stream_refs=2, temporal=True):
    pipeline = [dict(type='SampleClip', policy=dict(
        type='FixedOffsetClipPolicy', offsets=())),
        dict(type='LoadVideoFrames'), dict(type='PackVideoSegInputs')]
    return Config(dict(
        default_scope='mmseg',
        model=make_tiny_model_cfg(stream_refs=stream_refs,
                                  temporal=temporal),
        test_dataloader=dict(dataset=dict(pipeline=pipeline))))


@pytest.fixture(scope='module')
def frames():
    imgs, _ = render_video(5, 12, (32, 40), 3)
    return imgs


def test_arrays_in_masks_out(frames):
    torch.manual_seed(0)
    inf = VideoInferencer(_cfg())
    res = inf(frames, progress=False)
    assert res['num_frames'] == 12 and len(res['masks']) == 12
    assert res['masks'][0].shape == (32, 40)
    names = [n for n, _, _ in inf.predict_frames(frames, progress=False)]
    assert names[0] == '000000' and len(names) == 12


def test_folder_and_video_file_outputs(frames, tmp_path):
    folder = tmp_path / 'frames'
    folder.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f'{i:04d}.png'), f)
    inf = VideoInferencer(_cfg())
    res = inf(str(folder), out_dir=str(tmp_path / 'out'), overlay='gif',
              progress=False)
    masks = sorted(os.listdir(res['masks_dir']))
    assert masks == [f'{i:04d}.png' for i in range(12)]
    gif = Image.open(res['overlay'])
    assert gif.n_frames == 12 and gif.size == (80, 32)  # side by side
    # an mp4 in, an mp4 out
    video = str(tmp_path / 'in.mp4')
    writer = OverlayWriter(video, fps=5)
    for f in frames:
        writer.write(f)
    writer.close()
    res = inf(video, out_dir=str(tmp_path / 'out2'), overlay='mp4',
              progress=False)
    assert res['num_frames'] == 12
    cap = cv2.VideoCapture(res['overlay'])
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 12
    # nothing temporary left behind
    assert not [f for f in os.listdir(tmp_path / 'out2') if
                f.startswith('.')]


def test_state_bounded_and_reset(frames):
    inf = VideoInferencer(_cfg(stream_refs=3))
    gen = inf.predict_frames(frames * 3, progress=False)
    for i, _ in enumerate(gen):
        cache = inf.model._stream_cache[()]
        assert len(cache) == 3  # bounded, whatever the video length
    assert inf.model._stream_cache == {}  # reset at the end


def test_bad_inputs(tmp_path, frames):
    inf = VideoInferencer(_cfg())
    with pytest.raises(FileNotFoundError, match='nothing_here'):
        inf(str(tmp_path / 'nothing_here'), progress=False)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(ValueError, match='holds no images'):
        inf(str(tmp_path / 'empty'), progress=False)
    with pytest.raises(ValueError, match='empty'):
        inf([], progress=False)
    with pytest.raises(ValueError, match=r'frame 1 has shape'):
        inf([frames[0], np.zeros((4, 4))], progress=False)
    bad = tmp_path / 'bad'
    bad.mkdir()
    (bad / '0.png').write_bytes(b'garbage')
    with pytest.raises(OSError, match=r'0\.png'):
        inf(str(bad), progress=False)
    txt = tmp_path / 'notes.txt'
    txt.write_text('x')
    with pytest.raises(ValueError, match='not a video file'):
        inf(str(txt), progress=False)


def test_interrupted_overlay_leaves_nothing(tmp_path, frames):
    inf = VideoInferencer(_cfg())
    bad = list(frames[:3]) + [np.zeros((3, 3))]
    with pytest.raises(ValueError):
        inf(bad, out_dir=str(tmp_path), overlay='mp4', progress=False)
    left = os.listdir(tmp_path)
    assert 'overlay.mp4' not in left
    assert not [f for f in left if f.startswith('.overlay')]
    # the masks written before the failure are complete files
    assert sorted(os.listdir(tmp_path / 'masks')) == [
        '000000.png', '000001.png', '000002.png']


def test_temporal_model_needs_stream_cfg():
    with pytest.raises(ValueError, match='stream_cfg'):
        VideoInferencer(_cfg(stream_refs=None))
    inf = VideoInferencer(_cfg(stream_refs=None, temporal=False))
    assert inf.model.stream_cfg == dict(num_ref_frames=0)


def test_checkpoint_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        VideoInferencer(_cfg(), str(tmp_path / 'nope.pth'))


def test_look_ahead_buffers_the_frames_a_step_reads():
    from mmvidseg.apis.video_inferencer import _look_ahead
    frames = [(f'f{i}', i) for i in range(4)]
    # SALI's offline neighbour: frame t+1 is read before frame t's step,
    # the last frame is known, frame t-1 is still held
    seen = [(i, sorted(buf), last) for i, buf, last in
            _look_ahead(iter(frames), 1)]
    assert seen == [(0, [0, 1], False), (1, [0, 1, 2], False),
                    (2, [1, 2, 3], False), (3, [2, 3], True)]
    plain = [(i, sorted(buf), last) for i, buf, last in
             _look_ahead(iter(frames), 0)]
    assert plain == [(0, [0], False), (1, [0, 1], False),
                     (2, [1, 2], False), (3, [2, 3], False)]
    assert list(_look_ahead(iter([]), 1)) == []
