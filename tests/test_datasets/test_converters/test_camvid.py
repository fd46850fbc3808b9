import importlib.util
import os
import os.path as osp
import sys

import cv2
import numpy as np
import pytest

from mmvidseg.datasets.converters import (alignment_problems,
                                          check_camvid_alignment,
                                          extract_camvid_videos,
                                          extract_video_frames,
                                          format_alignment_table)
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


def test_tmanet_naming(tmp_path):
    src = tmp_path / 'raw'
    src.mkdir()
    _write_mp4(str(src / '0016E5.mp4'), 4)
    _write_mp4(str(src / '0005VD.mp4'), 2)
    _write_mp4(str(src / '01TP_extract.mp4'), 2)
    out = str(tmp_path / 'camvid')
    assert extract_camvid_videos(str(src), out, progress=False,
                                 naming='tmanet') == {
        '0005VD': 2, '0016E5': 4, '01TP_extract': 2}
    # TMANet's offsets: -1 for the MXF videos (frame -1 is not written),
    # +6660 for 01TP
    assert _frames(out) == [
        '0001TP_006660.png', '0001TP_006661.png', '0016E5_00000.png',
        '0016E5_00001.png', '0016E5_00002.png', 'Seq05VD_f00000.png']
    img = cv2.imread(osp.join(out, 'images_sequence', '0016E5_00000.png'))
    assert abs(int(img.mean()) - 20) < 8  # the second decoded frame
    _write_mp4(str(src / 'other.mp4'), 1)
    with pytest.raises(ValueError, match='other.mp4'):
        extract_camvid_videos(str(src), out, progress=False, naming='tmanet')


def _noise(seed, shape=(24, 32, 3)):
    return np.random.RandomState(seed).randint(0, 256, shape, np.uint8)


def test_alignment_detects_one_frame_offset(tmp_path):
    root = str(tmp_path)
    os.makedirs(osp.join(root, 'images_sequence'))
    os.makedirs(osp.join(root, 'images'))
    for n in range(10, 31):
        # 0016E5 extracted one frame off: the file numbered n is frame n + 1
        cv2.imwrite(osp.join(root, 'images_sequence', f'0016E5_{n:05d}.png'),
                    _noise(n + 1))
        cv2.imwrite(osp.join(root, 'images_sequence',
                             f'Seq05VD_f{n:05d}.png'), _noise(100 + n))
    jitter = np.random.RandomState(0).randint(-2, 3, (24, 32, 3))
    for n in (15, 20, 25):  # labelled images, re-encoded (small noise)
        cv2.imwrite(osp.join(root, 'images', f'0016E5_{n:05d}.png'),
                    np.clip(_noise(n) + jitter, 0, 255).astype(np.uint8))
        cv2.imwrite(osp.join(root, 'images', f'Seq05VD_f{n:05d}.png'),
                    np.clip(_noise(100 + n) + jitter, 0, 255).astype(
                        np.uint8))
    rows = {r['video']: r for r in check_camvid_alignment(root,
                                                          progress=False)}
    bad, good = rows['0016E5'], rows['Seq05VD']
    assert (bad['labelled'], bad['found'], bad['aligned']) == (3, 3, 0)
    assert bad['offset'] == -1 and bad['psnr_best'] > 40 > bad['psnr0']
    assert bad['mismatches'] == ['0016E5_00015', '0016E5_00020',
                                 '0016E5_00025']
    assert (good['aligned'], good['offset']) == (3, 0)
    problems = alignment_problems(rows.values())
    assert len(problems) == 1 and 'most common offset -1' in problems[0]
    table = format_alignment_table(rows.values())
    assert 'best offset' in table and '0016E5' in table.splitlines()[1]
    with pytest.raises(FileNotFoundError, match='0001TP'):
        check_camvid_alignment(root, videos=['0001TP'], progress=False)


def test_cli_naming_and_alignment_check(tmp_path, monkeypatch, capsys):
    src = tmp_path / 'raw'
    src.mkdir()
    _write_mp4(str(src / '0016E5.mp4'), 6)  # frame i is 20 i grey
    out = tmp_path / 'camvid'
    (out / 'images').mkdir(parents=True)
    # labelled frame 2 is the third video frame after frame -1 (60 grey);
    # the same image named 00003 is one frame off
    for n in (2, 3):
        cv2.imwrite(str(out / 'images' / f'0016E5_{n:05d}.png'),
                    np.full((16, 24, 3), 60, np.uint8))
    spec = importlib.util.spec_from_file_location(
        'camvid_video_to_frames',
        tool('dataset_converters/camvid_video_to_frames.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)  # in-process: no interpreter start-up
    monkeypatch.setattr(sys, 'argv', [
        'camvid_video_to_frames.py',
        str(src), str(out), '--naming', 'tmanet', '--check-alignment'])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    stdout = capsys.readouterr().out
    assert '0016E5: 6 frames' in stdout and 'best offset' in stdout
    assert _frames(str(out))[0] == '0016E5_00000.png'
    assert str(exc.value.code).startswith(
        'camvid_video_to_frames.py: error: frames do not line up')
    assert '0016E5: 1 of 2 labelled images do not line up (e.g. ' \
        '0016E5_00003); most common offset' in str(exc.value.code)
    os.remove(str(out / 'images' / '0016E5_00003.png'))
    monkeypatch.setattr(sys, 'argv', [
        'camvid_video_to_frames.py', 'unused', str(out), '--check-only'])
    cli.main()
    assert 'all labelled images line up' in capsys.readouterr().out
