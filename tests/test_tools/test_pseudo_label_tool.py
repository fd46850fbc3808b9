"""tools/pseudo_label.py: kept volumes, report and one-line errors."""
import csv
import os
import os.path as osp

import numpy as np
import pytest

from tests.test_tools._run import run, tool

nib = pytest.importorskip('nibabel')


def _write(folder, case, labels):
    os.makedirs(folder, exist_ok=True)
    nib.Nifti1Image(labels.astype(np.uint8),
                    np.diag([1., 1., 2., 1.])).to_filename(
                        osp.join(folder, f'{case}.nii.gz'))


def test_tool_keeps_agreeing_cases(tmp_path):
    agree = np.zeros((6, 6, 6), np.uint8)
    agree[1:4, 1:4, :] = 1
    runs = [str(tmp_path / f'run{i}') for i in range(3)]
    for i, d in enumerate(runs):
        _write(d, 'Case_01751', agree)
        other = np.zeros_like(agree)
        other[0:2] = 2 * i + 1  # each run: two organs of its own
        other[3:5] = 2 * i + 2
        _write(d, 'Case_01752', other)
    out = str(tmp_path / 'pseudo')
    proc = run([tool('pseudo_label.py'), *runs, '--out-dir', out])
    assert 'Case_01751               certainty 1.0000 kept' in proc.stdout
    # ties -> the vote is run 0; runs 1 and 2 get 4 of 13 organs wrong
    assert 'Case_01752               certainty 0.7949 rejected' in \
        proc.stdout
    assert 'kept 1 of 2 cases (certainty >= 0.9) from 3 runs' in proc.stdout
    assert sorted(os.listdir(out)) == [
        'Case_01751.nii.gz', 'report.csv', 'report.json'
    ]
    saved = nib.load(osp.join(out, 'Case_01751.nii.gz'))
    np.testing.assert_array_equal(np.asanyarray(saved.dataobj), agree)
    np.testing.assert_allclose(saved.affine, np.diag([1., 1., 2., 1.]))
    with open(osp.join(out, 'report.csv')) as f:
        rows = list(csv.DictReader(f))
    assert rows[0] == dict(case='Case_01751', certainty='1.000000',
                           kept='True')
    assert rows[1]['kept'] == 'False'
    assert float(rows[1]['certainty']) == pytest.approx((1 + 18 / 13) / 3)
    # a case missing from one run: one line naming it
    os.remove(osp.join(runs[2], 'Case_01752.nii.gz'))
    proc = run([tool('pseudo_label.py'), *runs, '--out-dir', out],
               check=False)
    assert proc.returncode == 1
    err = proc.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        "pseudo_label.py: error: case 'Case_01752' is missing from run "
        f"'{runs[2]}'")
