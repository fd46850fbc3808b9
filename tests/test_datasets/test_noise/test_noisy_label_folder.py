"""Noisy copy of a folder of label videos: seeding, layout, summary."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mmvidseg.datasets.noise import (NoiseConfig, choose_noisy_videos,
                                     find_label_videos, generate_noisy_labels,
                                     read_label, video_rng)

from .test_video_noise import make_video


def make_label_videos(root,
                      num_videos=4,
                      num_frames=7,
                      subdir='class_labels',
                      palette_video=None):
    """``root/seq_<i>/<subdir>/frame<t>.png`` class-id maps."""
    for i in range(num_videos):
        folder = osp.join(str(root), f'seq_{i + 1}', subdir)
        os.makedirs(folder, exist_ok=True)
        for t, lbl in enumerate(make_video(num_frames)):
            img = Image.fromarray(np.roll(lbl, 3 * i, axis=1))
            if i == palette_video:
                img = img.convert('P')
                img.putpalette([(7 * k) % 256 for k in range(768)])
            img.save(osp.join(folder, f'frame{t:03d}.png'))
    return str(root)


def read_tree(root):
    """{relative path: bytes} of the PNG files under ``root``."""
    out = {}
    for folder, _, files in os.walk(root):
        for name in files:
            if name.endswith('.png'):
                path = osp.join(folder, name)
                with open(path, 'rb') as f:
                    out[osp.relpath(path, root)] = f.read()
    return out


def test_choose_noisy_videos():
    names = [f'seq_{i}' for i in range(1, 16)]
    chosen = choose_noisy_videos(names[::-1], 0.5, 314)
    assert len(chosen) == 7 and chosen == sorted(chosen)
    assert chosen == choose_noisy_videos(names, 0.5, 314)
    assert set(chosen) <= set(names)
    assert any(
        choose_noisy_videos(names, 0.5, s) != chosen for s in range(1, 4))
    assert choose_noisy_videos(names, 0., 1) == []
    assert choose_noisy_videos(names, 1., 1) == sorted(names)
    with pytest.raises(ValueError, match='ratio'):
        choose_noisy_videos(names, 1.5, 1)


def test_video_rng_depends_on_seed_and_name_only():
    assert video_rng(3, 'seq_1').random() == video_rng(3, 'seq_1').random()
    assert video_rng(3, 'seq_1').random() != video_rng(3, 'seq_2').random()
    assert video_rng(3, 'seq_1').random() != video_rng(4, 'seq_1').random()


def test_parallel_equals_sequential_and_seeds_differ(tmp_path):
    src = make_label_videos(tmp_path / 'src')
    cfg = NoiseConfig(radius=(2, 5))
    kwargs = dict(ratio=0.5, cfg=cfg, progress=False)
    one = generate_noisy_labels(src,
                                str(tmp_path / 'a'),
                                seed=5,
                                nproc=1,
                                **kwargs)
    two = generate_noisy_labels(src,
                                str(tmp_path / 'b'),
                                seed=5,
                                nproc=2,
                                **kwargs)
    other = generate_noisy_labels(src, str(tmp_path / 'c'), seed=6, **kwargs)
    a, b, c = (read_tree(tmp_path / d) for d in 'abc')
    assert json.dumps(one) == json.dumps(two)
    assert a == b and len(a) == 4 * 7
    assert a != c or one['noisy_videos'] != other['noisy_videos']
    clean = read_tree(src)
    assert set(a) == set(clean)
    assert len(one['noisy_videos']) == 2
    for video in one['clean_videos']:  # byte-for-byte copies
        for rel in clean:
            if rel.startswith(video + os.sep):
                assert a[rel] == clean[rel]
    changed = [rel for rel in clean if a[rel] != clean[rel]]
    assert changed and all(
        rel.split(os.sep)[0] in one['noisy_videos'] for rel in changed)


def test_summary_matches_the_files(tmp_path):
    src = make_label_videos(tmp_path / 'src', num_videos=2, palette_video=1)
    dst = str(tmp_path / 'dst')
    report = generate_noisy_labels(src,
                                   dst,
                                   ratio=1.0,
                                   seed=0,
                                   cfg=NoiseConfig(radius=(2, 4)),
                                   summary_path=str(tmp_path / 's.json'),
                                   progress=False)
    assert json.loads(
        (tmp_path / 's.json').read_text()) == json.loads(json.dumps(report))
    changed = pixels = labelled = 0
    for rel in read_tree(src):
        clean, pal_c = read_label(osp.join(src, rel))
        noisy, pal_n = read_label(osp.join(dst, rel))
        assert pal_c == pal_n  # the palette is kept
        changed += int((clean != noisy).sum())
        pixels += clean.size
        labelled += int((clean != 0).sum())
    overall = report['overall']
    assert overall['counts']['changed'] == changed > 0
    assert overall['noise_ratio'] == changed / pixels
    assert overall['labelled_noise_ratio'] == changed / labelled
    assert overall['frames'] == 14 and overall['videos'] == 2
    draws = overall['noise_types']['draws']
    assert sum(draws.values()) == sum(
        len(seg['classes']) for v in report['videos'].values()
        for seg in v['segments'])
    seg = report['videos']['seq_1']['segments'][0]
    assert seg['frame_names'][0] == 'frame000.png'


def test_label_subdir_option_and_errors(tmp_path):
    src = make_label_videos(tmp_path / 'flat', num_videos=2, subdir='')
    assert list(find_label_videos(src, '')) == ['seq_1', 'seq_2']
    with pytest.raises(FileNotFoundError, match='no label videos'):
        find_label_videos(src, 'class_labels')
    with pytest.raises(FileNotFoundError, match='not found'):
        find_label_videos(str(tmp_path / 'missing'))
    with pytest.raises(ValueError, match='is the input folder'):
        generate_noisy_labels(src, src, label_subdir='', progress=False)
    rgb = tmp_path / 'rgb' / 'v' / 'class_labels'
    rgb.mkdir(parents=True)
    Image.new('RGB', (4, 4)).save(rgb / 'f.png')
    with pytest.raises(ValueError, match=r'f\.png.*RGB image'):
        generate_noisy_labels(str(tmp_path / 'rgb'),
                              str(tmp_path / 'o'),
                              ratio=1.,
                              progress=False)
