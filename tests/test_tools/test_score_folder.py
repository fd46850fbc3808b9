"""tools/analysis_tools/score_folder.py: official DAVIS values from files,
parallel = serial, one-line errors with a non-zero exit."""
import importlib.util
import json
import os
import os.path as osp

import pytest

from tests.test_evaluation._flare_cases import make_flare_folders
from tests.test_evaluation.davis_osvos_reference import (OFFICIAL_GLOBAL,
                                                         SEQUENCE)
from tests.test_evaluation.test_folder_scorer.test_davis_folder_reader import \
    make_davis
from tests.test_evaluation.test_functional.test_flare_measures import SYNTH_NSD

from ._run import run, tool

SCRIPT = tool('analysis_tools/score_folder.py')


@pytest.fixture(scope='module')
def cli():
    """The tool's module, to call ``main(argv)`` in this process."""
    spec = importlib.util.spec_from_file_location('score_folder_cli', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_osvos_results_give_the_official_values(shared_data, tmp_path):
    out = tmp_path / 'scores' / 'osvos.json'
    proc = run([SCRIPT, 'davis', '--gt', osp.join(shared_data, 'davis2016'),
                '--pred', osp.join(shared_data, 'davis2017_osvos_results'),
                '--davis2016', '--out', str(out)])
    report = json.loads(proc.stdout)
    assert json.loads(out.read_text()) == report
    assert (report['videos'], report['frames']) == (1, 40)
    assert list(report['per_object']) == [f'{SEQUENCE}_1']
    assert set(report['overall']) == set(OFFICIAL_GLOBAL)
    for key, value in OFFICIAL_GLOBAL.items():
        assert report['overall'][key] == pytest.approx(value, abs=1e-10), key
    assert 'J&F-Mean 0.9229' in proc.stderr  # the metric's log line


def test_video_without_results_exits_with_one_line(cli, shared_data):
    argv = ['davis', '--gt', osp.join(shared_data, 'davis2016'), '--pred',
            osp.join(shared_data, 'davis2017_osvos_results'), '--davis2016',
            '--sequences', SEQUENCE, 'surf']
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    # a string: printed to stderr, exit status 1
    assert exc.value.code == (
        "score_folder.py davis: error: video 'surf': prediction folder "
        f"{osp.join(shared_data, 'davis2017_osvos_results', 'surf')} not "
        'found')


def test_nproc_2_equals_nproc_1(cli, tmp_path, capsys):
    make_davis(tmp_path)
    base = ['davis', '--gt', str(tmp_path / 'gt'), '--pred',
            str(tmp_path / 'pred')]
    cli.main(base + ['--nproc', '1', '--out', str(tmp_path / 'one.json')])
    one = capsys.readouterr().out
    cli.main(base + ['--nproc', '2', '--out', str(tmp_path / 'two.json')])
    two = capsys.readouterr().out
    assert json.loads(one)['videos'] == 3
    assert one == two
    assert (tmp_path / 'one.json').read_text() == one
    assert (tmp_path / 'two.json').read_text() == two


@pytest.mark.parametrize('side', ['pred', 'gt'])
def test_missing_frame_or_video_exits_with_one_line(cli, tmp_path, capsys,
                                                    side):
    make_davis(tmp_path)
    argv = ['davis', '--gt', str(tmp_path / 'gt'), '--pred',
            str(tmp_path / 'pred'), '--out', str(tmp_path / 'x.json')]
    folder = tmp_path / 'pred' if side == 'pred' else \
        tmp_path / 'gt' / 'Annotations' / '480p'
    os.remove(folder / 'dog' / '00003.png')
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    message = str(exc.value.code)
    assert '\n' not in message and message.startswith(
        'score_folder.py davis: error: ')
    if side == 'pred':
        assert "video 'dog': 1 frame(s) without a prediction, first " \
            f"{tmp_path / 'pred' / 'dog' / '00003.png'}" in message
    else:
        assert "video 'dog': 1 prediction(s) without a ground-truth " \
            f"frame, first {tmp_path / 'pred' / 'dog' / '00003.png'}" \
            in message
    assert not (tmp_path / 'x.json').exists()
    assert capsys.readouterr().out == ''

    # a whole video missing on that side
    os.rename(folder / 'cows', tmp_path / 'cows')
    argv += ['--sequences', 'blackswan', 'cows']
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    what = 'prediction' if side == 'pred' else 'ground-truth'
    assert f"video 'cows': {what} folder" in str(exc.value.code)
    # --debug: the exception itself
    with pytest.raises(FileNotFoundError, match="video 'cows'"):
        cli.main(argv + ['--debug'])


def test_flare_scores_and_errors(cli, tmp_path, capsys):
    gt_dir, pred_dir = make_flare_folders(tmp_path)
    cli.main(['flare', '--gt', gt_dir, '--pred', pred_dir, '--tolerance',
              'flare22', '--out', str(tmp_path / 'flare.json')])
    report = json.loads(capsys.readouterr().out)
    assert report['per_case']['synth']['IVC']['NSD'] == pytest.approx(
        SYNTH_NSD[5], rel=1e-13)
    assert report['overall']['NSD_liver'] == 1
    assert json.loads((tmp_path / 'flare.json').read_text()) == report
    cli.main(['flare', '--gt', gt_dir, '--pred', pred_dir, '--tolerance',
              '1', '--rules', 'ivos', '--official-rounding'])
    report = json.loads(capsys.readouterr().out)
    assert report['options'] == dict(tolerance=1.0, rules='ivos',
                                     official_rounding=True)
    os.remove(osp.join(pred_dir, 'synth.nii.gz'))
    with pytest.raises(SystemExit) as exc:
        cli.main(['flare', '--gt', gt_dir, '--pred', pred_dir])
    assert str(exc.value.code) == (
        "score_folder.py flare: error: case 'synth': prediction "
        f"{osp.join(pred_dir, 'synth.nii.gz')} not found")
    with pytest.raises(SystemExit) as exc:
        cli.main(['flare', '--gt', gt_dir, '--pred', pred_dir,
                  '--tolerance', 'one'])
    assert '--tolerance must be' in str(exc.value.code)
