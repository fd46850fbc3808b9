"""tools/analysis_tools/benchmark.py --mode volume with tiny models."""
import json

import pytest

from ._run import run, tool

pytestmark = pytest.mark.slow


def test_benchmark_volume_mode(tmp_path):
    out = tmp_path / 'volume.json'
    proc = run([tool('analysis_tools/benchmark.py'), 'tiny', '--mode',
                'volume', '--volume-shape', '40', '32', '10', '--size', '32',
                '--warmup', '0', '--json', str(out)])
    lines = proc.stdout.splitlines()
    assert lines[0].startswith('settings: benchmark=volume')
    for stage in ('volume', 'cps_candidates', 'propagation'):
        line = [x for x in lines if x.startswith(stage + ':')][0]
        assert 'slices/s' in line
    report = json.loads(out.read_text())
    assert report['volume']['frames_per_sec'] > 0
    assert report['settings']['volume_shape'] == [40, 32, 10]
    proc = run([tool('analysis_tools/benchmark.py'), 'cps.py', '--mode',
                'volume'], check=False)
    assert proc.returncode == 1
    assert 'give both a CPS config and --stcn-config' in proc.stderr
