"""2-process DDP on CPU (gloo) gives the single-process result."""
import socket

import pytest
import torch

from ..conftest import make_procedural_run_cfg, make_tiny_model_cfg
from ._run import last_metrics, run, tool

pytestmark = pytest.mark.slow


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _metrics(work_dir):
    return last_metrics(work_dir)


def test_ddp_matches_single_process(tmp_path):
    # GroupNorm and no random augmentation: a batch of 2 on one process and
    # 2 processes with a batch of 1 then compute the same gradients.
    model = make_tiny_model_cfg(stream_refs=2, norm='GN')
    common = dict(model=model, max_iters=4, ckpt_interval=4, val_videos=3)
    single = make_procedural_run_cfg(tmp_path / 'single',
                                     str(tmp_path / 'c'), batch_size=2,
                                     **common)
    ddp = make_procedural_run_cfg(tmp_path / 'ddp', str(tmp_path / 'c'),
                                  batch_size=1, **common)
    single.dump(str(tmp_path / 'single.py'))
    ddp.dump(str(tmp_path / 'ddp.py'))
    run([tool('train.py'), str(tmp_path / 'single.py')])
    launcher = ['-m', 'torch.distributed.run', '--nproc_per_node=2',
                f'--master_port={_free_port()}']
    run(launcher + [tool('train.py'), str(tmp_path / 'ddp.py'),
                    '--launcher', 'pytorch'])
    w1 = torch.load(tmp_path / 'single' / 'iter_4.pth', weights_only=True)
    w2 = torch.load(tmp_path / 'ddp' / 'iter_4.pth', weights_only=True)
    for k, v in w1['state_dict'].items():
        assert torch.allclose(v.float(), w2['state_dict'][k].float(),
                              atol=1e-5), k

    # distributed streaming test (3 videos over 2 ranks, unequal counts)
    ckpt = str(tmp_path / 'ddp' / 'iter_4.pth')
    run(launcher[:3] + [f'--master_port={_free_port()}', tool('test.py'),
                        str(tmp_path / 'ddp.py'), ckpt, '--launcher',
                        'pytorch', '--work-dir', str(tmp_path / 'ddp_test')])
    run([tool('test.py'), str(tmp_path / 'ddp.py'), ckpt, '--work-dir',
         str(tmp_path / 'single_test')])
    m_ddp = _metrics(str(tmp_path / 'ddp_test'))
    m_single = _metrics(str(tmp_path / 'single_test'))
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert m_ddp[key] == m_single[key], (key, m_ddp, m_single)
    # and the model trained in one process scores the same
    run([tool('test.py'), str(tmp_path / 'single.py'),
         str(tmp_path / 'single' / 'iter_4.pth'), '--work-dir',
         str(tmp_path / 'single_test2')])
    m_single2 = _metrics(str(tmp_path / 'single_test2'))
    assert abs(m_single2['mIoU'] - m_ddp['mIoU']) < 0.05
