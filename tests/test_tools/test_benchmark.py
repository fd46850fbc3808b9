"""tools/analysis_tools/benchmark.py on CPU for the demo model."""
import json
import os.path as osp

import pytest

from ._run import run, tool

pytestmark = pytest.mark.slow


def test_benchmark_demo_model_cpu(tmp_path, repo_root):
    cfg = osp.join(repo_root, 'configs', 'demo',
                   'tempattn_r18-tiny_1xb8-clip3-600it_procedural-96x96.py')
    out = tmp_path / 'bench.json'
    proc = run([tool('analysis_tools/benchmark.py'), cfg, '--iters', '3',
                '--warmup', '1', '--batch-size', '2', '--json', str(out)])
    text = proc.stdout
    assert 'settings:' in text and 'device=cpu' in text
    assert 'shape=[96, 96]' in text and 'clip_len=3' in text
    for mode in ('train', 'stream'):
        line = [x for x in text.splitlines() if x.startswith(mode + ':')][0]
        assert 'frames/s' in line and 'peak memory' in line
    report = json.loads(out.read_text())
    assert report['train']['frames_per_sec'] > 0
    assert report['stream']['frames_per_sec'] > 0
    assert report['stream']['peak_mem_mib'] is not None


def test_benchmark_propagation_and_memory_read(repo_root):
    prop = osp.join(repo_root, 'configs', 'label_propagation',
                    'labelprop_crw-r18_t0.05-k10-r12-l20_davis2017-480p.py')
    proc = run([tool('analysis_tools/benchmark.py'), prop, '--mode',
                'propagation', '--frames', '6', '--shape', '48', '64',
                '--channels', '16'])
    for impl in ('streaming', 'original'):
        line = [x for x in proc.stdout.splitlines()
                if x.startswith(impl + ':')][0]
        assert 'frames/s' in line and 'peak memory' in line
    tma = osp.join(repo_root, 'configs', 'tmanet',
                   'tmanet_r18-d8_4xb2-clip3-80k_cityscapes-seq-769x769.py')
    proc = run([tool('analysis_tools/benchmark.py'), tma, '--mode',
                'memory-read', '--shape', '64', '64', '--iters', '2',
                '--warmup', '1'])
    assert 'sdpa read' in proc.stdout and 'plain read' in proc.stdout


def test_benchmark_shape_and_errors(repo_root):
    cfg = osp.join(repo_root, 'configs', 'demo',
                   'tempattn_r18-tiny_1xb8-clip3-600it_procedural-96x96.py')
    # --shape reaches the data preprocessor (it pads to the 96x96 crop)
    proc = run([tool('analysis_tools/benchmark.py'), cfg, '--mode', 'train',
                '--shape', '64', '80', '--iters', '1', '--warmup', '0'])
    line = [x for x in proc.stdout.splitlines() if x.startswith('train:')][0]
    assert 'input 64x80' in line
    # decided from the built model: this one does not propagate masks
    proc = run([tool('analysis_tools/benchmark.py'), cfg, '--mode',
                'propagation'], check=False)
    assert proc.returncode == 1
    assert 'is not a label-propagation model' in proc.stderr


def test_benchmark_sali_stream_train_and_macs(tmp_path):
    """SALI: streaming feeds [t, t+1] clips (one backbone pass per frame
    with the feature cache), training feeds [memory, current, neighbour]
    triplets with every label, and MACs count the deformable convs."""
    from .test_sali_tools import tiny_config
    cfg = tiny_config(tmp_path, tmp_path / 'no-data')
    proc = run([tool('analysis_tools/benchmark.py'), cfg, '--shape', '64',
                '64', '--iters', '3', '--warmup', '1', '--batch-size', '2'])
    assert 'clip_len=3' in proc.stdout
    for mode in ('train', 'stream'):
        line = [x for x in proc.stdout.splitlines()
                if x.startswith(mode + ':')][0]
        assert 'frames/s' in line and 'input 64x64' in line
    proc = run([tool('analysis_tools/benchmark.py'), cfg, '--mode', 'macs',
                '--shape', '64', '64'])
    assert 'clip_len=2' in proc.stdout
    assert 'PythonOp.ModulatedDeformConv2dFunction' in proc.stdout
    assert 'MACs:' in proc.stdout


def test_benchmark_ms_tfal_stages(tmp_path, repo_root):
    """--mode stages: one MS-TFAL training step per stage (AMP replaced by
    fp32 on CPU), overheads against plain and the TFAL maths alone."""
    cfg = osp.join(repo_root, 'configs', 'ms_tfal',
                   'mstfal_r18-d8_1xb1-clip4-amp-25e_endovis18-256x320.py')
    out = tmp_path / 'stages.json'
    proc = run([tool('analysis_tools/benchmark.py'), cfg, '--mode', 'stages',
                '--shape', '64', '80', '--iters', '1', '--warmup', '0',
                '--json', str(out), '--cfg-options',
                'model.backbone.init_cfg=None'])
    text = proc.stdout
    assert 'clip_len=8' in text and 'trained_frames=4' in text
    assert 'config: AmpOptimWrapper' in text
    for stage in ('plain', 'video', 'image', 'pixel', 'tfal_maths'):
        line = [x for x in text.splitlines() if x.startswith(stage + ':')][0]
        assert 'ms/iter' in line and 'peak memory' in line
    assert 'TFAL overhead per step: image vs plain' in text
    report = json.loads(out.read_text())
    assert report['pixel']['input_hw'] == [64, 80]
    assert report['tfal_maths']['embedding'] == [4, 304, 8, 10]
