import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmvidseg.datasets.converters import (extract_camvid_videos,
                                          extract_video_frames)
from tests.test_tools._run import run, tool


def _write_mp4(path, n, size=(16, 24)):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 10,
                             (size[1], size[0]))
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full(size + (3, ), 20 * i, np.uint8))
    writer.release()


def _frames(out):
    return sorted(os.listdir(osp.join(out, 'images_sequence')))


def test_extract_all_videos(tmp_path):
    src = tmp_path / 'raw'
    src.mkdir()
    _write_mp4(str(src / '0016E5.mp4'), 5)
    out = str(tmp_path / 'camvid')
    assert extract_camvid_videos(str(src), out, progress=False) == {
        '0016E5': 5}
    assert _frames(out) == [f'0016E5_{i:06d}.png' for i in range(5)]
    img = cv2.imread(osp.join(out, 'images_sequence', '0016E5_000003.png'))
    assert img.shape == (16, 24, 3) and abs(int(img.mean()) - 60) < 8
    # a second video does not delete the first one's frames
    _write_mp4(str(src / 'Seq05VD.mp4'), 3)
    assert extract_camvid_videos(str(src), out, progress=False) == {
        '0016E5': 5, 'Seq05VD': 3}
    assert len(_frames(out)) == 8
    assert _frames(out)[-1] == 'Seq05VD_000002.png'


def test_skip_existing(tmp_path):
    video = str(tmp_path / 'v.mp4')
    _write_mp4(video, 4)
    out = str(tmp_path / 'frames')
    assert extract_video_frames(video, out, progress=False) == 4
    marker = osp.join(out, 'v_000001.png')
    cv2.imwrite(marker, np.zeros((2, 2, 3), np.uint8))
    assert extract_video_frames(video, out, progress=False) == 4
    assert cv2.imread(marker).shape == (2, 2, 3)  # kept
    extract_video_frames(video, out, skip_existing=False, progress=False)
    assert cv2.imread(marker).shape == (16, 24, 3)
    assert not [f for f in os.listdir(out) if f.startswith('.')]


def test_errors_name_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match='nowhere'):
        extract_camvid_videos(str(tmp_path / 'nowhere'), str(tmp_path))
    with pytest.raises(FileNotFoundError, match='no video'):
        extract_camvid_videos(str(tmp_path), str(tmp_path))
    with pytest.raises(FileNotFoundError, match='missing.avi'):
        extract_video_frames(str(tmp_path / 'missing.avi'), str(tmp_path))
    bad = tmp_path / 'bad.avi'
    bad.write_bytes(b'not a video')
    with pytest.raises(OSError, match='bad.avi'):
        extract_video_frames(str(bad), str(tmp_path / 'o'), progress=False)


def test_cli(tmp_path):
    src = tmp_path / 'raw'
    src.mkdir()
    _write_mp4(str(src / 'a.mp4'), 2)
    proc = run([tool('dataset_converters/camvid_video_to_frames.py'),
                str(src), str(tmp_path / 'out')])
    assert 'a: 2 frames' in proc.stdout
    assert _frames(str(tmp_path / 'out')) == ['a_000000.png', 'a_000001.png']
