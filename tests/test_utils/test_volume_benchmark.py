"""The two-stage volume benchmark on a small synthetic CT (tiny models)."""
import numpy as np
import pytest

from mmvidseg.utils.volume_benchmark import (SYNTHETIC_ORGANS,
                                             format_volume_report,
                                             run_volume_benchmark,
                                             synthetic_ct)


def test_synthetic_ct():
    hu, labels = synthetic_ct((64, 48, 20))
    assert hu.shape == labels.shape == (64, 48, 20) and hu.dtype == np.int16
    assert hu.min() >= -1024 and (hu == -1000).any()  # air around the body
    present = set(np.unique(labels).tolist())
    assert present == {0} | {c for _, c, *_ in SYNTHETIC_ORGANS if c}
    # organs are brighter than soft tissue on average, bone the brightest
    liver = hu[labels == 1].mean()
    assert 40 < liver < 80 and hu.max() > 600
    again, _ = synthetic_ct((64, 48, 20))
    np.testing.assert_array_equal(hu, again)


def test_volume_benchmark_tiny():
    report = run_volume_benchmark(shape=(48, 40, 12), size=32,
                                  memory_on_cpu=True, warmup=False)
    s = report['settings']
    assert s['benchmark'] == 'volume' and s['models'] == 'tiny (random)'
    assert s['volume_shape'] == [48, 40, 12] and s['candidates'] == 2
    assert report['volume']['frames_per_sec'] > 0
    assert report['volume']['input_hw'] == [32, 32]
    assert report['cps_candidates']['slices'] == 2
    assert report['propagation']['slices'] >= 0
    total = sum(report[k]['sec']
                for k in ('prepare', 'cps_candidates', 'propagation'))
    assert total == pytest.approx(report['volume']['sec'], rel=0.2, abs=0.05)
    lines = format_volume_report(report)
    assert lines[0].startswith('settings: benchmark=volume')
    assert any(x.startswith('volume: ') and 'slices/s' in x and
               'peak memory' in x for x in lines)
    with pytest.raises(ValueError, match='both'):
        run_volume_benchmark('cps.py', None)
    with pytest.raises(ValueError, match='shape'):
        run_volume_benchmark(shape=(4, 4))
