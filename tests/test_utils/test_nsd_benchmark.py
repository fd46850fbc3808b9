"""NSD timing: ours vs the surface-distance package, and --mode nsd."""
import importlib.util
import sys

import numpy as np
import pytest

from mmvidseg.utils.nsd_benchmark import (format_nsd_report,
                                          reference_case_scores,
                                          synthetic_case, time_nsd)
from tests.test_tools._run import tool

HAS_REFERENCE = importlib.util.find_spec('surface_distance') is not None


def test_synthetic_case_has_every_organ():
    gt, pred = synthetic_case((96, 96, 20))
    assert set(np.unique(gt)) == set(range(14))
    assert set(np.unique(pred)) == set(range(14))


@pytest.mark.skipif(not HAS_REFERENCE,
                    reason='surface-distance package not installed')
def test_same_numbers_as_the_package():
    report = time_nsd((96, 96, 20), repeats=1)
    assert report['max_abs_diff'] < 1e-12
    gt, pred = synthetic_case((96, 96, 20))
    ref = reference_case_scores(gt, pred, (0.8, 0.8, 2.5))
    np.testing.assert_allclose(report['nsd'], ref['nsd'], rtol=1e-12)
    assert any(0 < v < 1 for v in report['nsd']) and min(report['dsc']) < 1
    assert 'speedup x' in format_nsd_report(report)[2]


def test_reference_missing_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, 'surface_distance', None)
    report = time_nsd((32, 30, 8), repeats=1)
    assert 'not installed' in report['reference_skipped']
    assert 'reference: skipped' in format_nsd_report(report)[2]
    with pytest.raises(ValueError, match='repeats'):
        time_nsd((8, 8, 4), repeats=0)


def test_benchmark_tool_nsd_mode_without_config(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location(
        'benchmark_cli', tool('analysis_tools/benchmark.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    monkeypatch.setattr(sys, 'argv', [
        'benchmark.py', '--mode', 'nsd', '--volume-shape', '40', '36', '10',
        '--repeats', '1'])
    cli.main()
    out = capsys.readouterr().out
    assert out.startswith('nsd: volume [40, 36, 10]')
    assert 'ours: ' in out and 'reference: ' in out
    monkeypatch.setattr(sys, 'argv', ['benchmark.py', '--mode', 'train'])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert '--mode train needs a config file' in str(exc.value.code)
