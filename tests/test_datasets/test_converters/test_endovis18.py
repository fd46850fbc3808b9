"""EndoVis18 colour labels -> class ids (MS-TFAL's to_class_labels.py)."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from PIL import Image

from mmvidseg.datasets.converters import (convert_endovis18, read_label_colors,
                                          rgb_to_class_ids)
from mmvidseg.datasets.endovis18_dataset import ENDOVIS18_PALETTE
from tests.test_datasets.endovis18_fake import (fake_class_ids,
                                                make_fake_endovis18)
from tests.test_tools._run import run, tool

SIZE = (16, 20)


@pytest.fixture
def fake(tmp_path):
    root = str(tmp_path / 'endovis18')
    make_fake_endovis18(root, seqs=(1, 2), frames=3, size=SIZE,
                        test_seqs=(1, ))
    for split, seqs in (('train', (1, 2)), ('test', (1, ))):
        for s in seqs:
            shutil.rmtree(osp.join(root, split, f'seq_{s}', 'class_labels'))
    return root


def _ids(root, split, seq, frame):
    with Image.open(osp.join(root, split, f'seq_{seq}', 'class_labels',
                             f'frame{frame:03d}.png')) as img:
        assert img.mode == 'L'
        return np.asarray(img)


def test_rgb_to_class_ids_as_mstfal():
    colors = np.asarray(ENDOVIS18_PALETTE)
    rgb = np.zeros((2, 3, 4), np.uint8)  # RGBA: alpha ignored
    rgb[..., 3] = 255
    rgb[0, 0, :3] = ENDOVIS18_PALETTE[11]
    rgb[0, 1, :3] = ENDOVIS18_PALETTE[1]
    rgb[1, 2, :3] = (1, 2, 3)  # not a class colour
    ids, unknown = rgb_to_class_ids(rgb, colors)
    assert ids.tolist() == [[11, 1, 0], [0, 0, 0]] and unknown == 1
    with pytest.raises(ValueError,
                       match=r'f.png: colour \(1, 2, 3\) at \(y=1, x=2\)'):
        rgb_to_class_ids(rgb, colors, 'error', name='f.png')


def test_convert_train_and_test(fake):
    colors = read_label_colors(osp.join(fake, 'train', 'labels.json'))
    assert colors.tolist() == ENDOVIS18_PALETTE
    out = convert_endovis18(fake, nproc=1, progress=False)
    assert out == dict(sequences=3, files=9, unknown_pixels=0)
    for split, seq in (('train', 1), ('train', 2), ('test', 1)):
        for t in range(3):
            assert (_ids(fake, split, seq, t) == fake_class_ids(SIZE, t)).all()
    # skip_existing keeps files; nproc=2 gives the same files
    assert convert_endovis18(fake, skip_existing=True,
                             progress=False)['files'] == 0
    before = _ids(fake, 'train', 2, 1).copy()
    os.remove(osp.join(fake, 'train', 'seq_2', 'class_labels',
                       'frame001.png'))
    assert convert_endovis18(fake, splits=('train', ), nproc=2,
                             progress=False)['files'] == 6
    assert (_ids(fake, 'train', 2, 1) == before).all()


def test_unknown_colours_and_bad_input(fake):
    path = osp.join(fake, 'test', 'seq_1', 'labels', 'frame002.png')
    rgb = np.array(Image.open(path))
    rgb[0, 0] = (9, 9, 9)
    Image.fromarray(rgb).save(path)
    with pytest.raises(ValueError, match=r'frame002.png: colour \(9, 9, 9\)'):
        convert_endovis18(fake, splits=('test', ), unknown='error',
                          progress=False)
    # nothing half-written: no temporary files left
    left = os.listdir(osp.join(fake, 'test', 'seq_1', 'class_labels'))
    assert all(not f.startswith('.') for f in left)
    out = convert_endovis18(fake, splits=('test', ), progress=False)
    assert out['unknown_pixels'] == 1
    assert _ids(fake, 'test', 1, 2)[0, 0] == 0  # MS-TFAL: background
    with pytest.raises(FileNotFoundError, match='val'):
        convert_endovis18(fake, splits=('val', ), progress=False)
    with open(osp.join(fake, 'bad.json'), 'w') as f:
        json.dump([dict(name='x')], f)
    with pytest.raises(ValueError, match='entry 0 has no'):
        read_label_colors(osp.join(fake, 'bad.json'))
    with pytest.raises(FileNotFoundError, match='labels.json'):
        read_label_colors(osp.join(fake, 'missing.json'))


def test_tool(fake):
    proc = run([tool('dataset_converters/endovis18.py'), fake, '--nproc',
                '2', '--splits', 'train'])
    assert 'wrote 6 class-id labels for 2 sequences' in proc.stdout
    assert (_ids(fake, 'train', 1, 1) == fake_class_ids(SIZE, 1)).all()
