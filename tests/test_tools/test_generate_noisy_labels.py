"""tools/generate_noisy_labels.py: summary file and stdout, nproc-independent
output, one-line errors, real CholecSeg8k masks."""
import importlib.util
import json
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from tests.test_datasets.test_noise.test_noisy_label_folder import (
    make_label_videos, read_tree)

from ._run import tool

SCRIPT = tool('generate_noisy_labels.py')

# CholecSeg8k class codes (shared/data/README.md) -> consecutive ids;
# 50 (background) -> 0, 255 (unlabelled) -> 13
CHOLEC_CODES = [50, 11, 21, 13, 12, 31, 23, 24, 25, 32, 22, 33, 5, 255]


@pytest.fixture(scope='module')
def cli():
    spec = importlib.util.spec_from_file_location('generate_noisy_labels',
                                                  SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_writes_summary_and_prints_it(cli, tmp_path, capsys):
    src = make_label_videos(tmp_path / 'src', num_videos=3)
    outs = {}
    for nproc in (1, 2):
        dst = tmp_path / f'dst{nproc}'
        cli.main([
            src,
            str(dst), '--seed', '11', '--ratio', '0.7', '--nproc',
            str(nproc), '--radius', '2', '5', '--no-progress'
        ])
        printed = json.loads(capsys.readouterr().out)
        saved = json.loads((dst / 'noisy_labels_summary.json').read_text())
        assert printed['overall'] == saved['overall']
        assert 'segments' in saved['videos']['seq_1']
        assert 'segments' not in printed['videos']['seq_1']
        assert saved['config']['radius'] == [2, 5]
        assert len(saved['noisy_videos']) == 2  # int(3 * 0.7)
        outs[nproc] = (read_tree(dst), saved)
    assert outs[1] == outs[2]


def test_missing_folder_is_a_one_line_error(cli, tmp_path):
    with pytest.raises(SystemExit) as exc:
        cli.main([str(tmp_path / 'nope'), str(tmp_path / 'out')])
    assert exc.value.code == ('generate_noisy_labels.py: error: label '
                              f"folder '{tmp_path / 'nope'}' not found")


def test_real_cholecseg8k_masks(cli, shared_data, tmp_path, capsys):
    masks = osp.join(shared_data, 'cholecseg8k_clip', 'masks')
    lut = np.full(256, 255, np.uint8)
    lut[CHOLEC_CODES] = np.arange(len(CHOLEC_CODES))
    src = tmp_path / 'src' / 'clip' / 'labels'
    src.mkdir(parents=True)
    names = sorted(os.listdir(masks))[:10]
    for name in names:
        code = np.asarray(Image.open(osp.join(masks, name)))
        assert (lut[code] != 255).all(), f'unknown class code in {name}'
        Image.fromarray(lut[code]).save(src / name)
    dst = tmp_path / 'dst'
    cli.main([
        str(tmp_path / 'src'),
        str(dst), '--ratio', '1', '--label-subdir', 'labels', '--thread-class',
        '-1', '--no-progress'
    ])
    report = json.loads(capsys.readouterr().out)
    assert report['noisy_videos'] == ['clip']
    changed = 0
    for name in names:
        clean = np.asarray(Image.open(src / name))
        noisy = np.asarray(Image.open(dst / 'clip' / 'labels' / name))
        assert noisy.shape == clean.shape == (480, 854)
        assert set(np.unique(noisy)) <= set(np.unique(clean))
        changed += int((noisy != clean).sum())
    assert changed > 0
    assert report['overall']['counts']['changed'] == changed
    assert report['overall']['noise_ratio'] == changed / (10 * 480 * 854)
    assert sum(report['overall']['noise_types']['draws'].values()) > 0
