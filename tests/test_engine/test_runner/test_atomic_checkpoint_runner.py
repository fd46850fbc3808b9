"""AtomicCheckpointRunner: a kill or error during a save leaves no broken
checkpoint under a final name, and the run stays resumable."""
import glob
import os
import os.path as osp

import pytest
import torch
from mmengine.fileio.backends import LocalBackend

from mmvidseg.engine import AtomicCheckpointRunner
from mmvidseg.registry import RUNNERS

from ...conftest import make_procedural_run_cfg
from ...test_tools._run import run, tool

# Test-only plugin: the process dies (os._exit, no clean-up) half-way
# through writing the checkpoint named by $KILL_DURING_SAVE.
SAVE_KILLER = '''
import os

from mmengine.fileio.backends import LocalBackend

_put = LocalBackend.put


def put(self, obj, filepath):
    target = os.environ.get('KILL_DURING_SAVE')
    if target and target in os.path.basename(str(filepath)):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
        os._exit(3)
    return _put(self, obj, filepath)


LocalBackend.put = put
'''


def _state(path):
    return torch.load(path, map_location='cpu', weights_only=True)


def _runner(tmp_path, **kwargs):
    cfg = make_procedural_run_cfg(tmp_path / 'w', str(tmp_path / 'c'),
                                  max_iters=1, **kwargs)
    cfg.runner_type = 'AtomicCheckpointRunner'
    runner = RUNNERS.build(cfg)
    assert type(runner) is AtomicCheckpointRunner
    return runner


def test_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    runner = _runner(tmp_path, ckpt_interval=1)
    runner.train()
    work = str(tmp_path / 'w')
    ckpt = osp.join(work, 'iter_1.pth')
    before = open(ckpt, 'rb').read()

    def broken_put(self, obj, filepath):
        with open(filepath, 'wb') as f:
            f.write(obj[:100])
        raise OSError('disk full')

    monkeypatch.setattr(LocalBackend, 'put', broken_put)
    with pytest.raises(OSError, match='disk full'):
        runner.save_checkpoint(work, 'iter_1.pth')
    # the overwritten checkpoint is intact and no temporary file is left
    assert open(ckpt, 'rb').read() == before
    assert not osp.exists(osp.join(work, '.iter_1.pth.tmp'))
    monkeypatch.undo()
    runner.save_checkpoint(work, 'sub/iter_9.pth', meta=dict(note=1))
    assert _state(osp.join(work, 'sub', 'iter_9.pth'))['meta']['note'] == 1
    assert os.listdir(osp.join(work, 'sub')) == ['iter_9.pth']


def test_resume_survives_an_empty_last_checkpoint(tmp_path):
    runner = _runner(tmp_path, ckpt_interval=1)
    runner.train()
    work = tmp_path / 'w'
    (work / 'last_checkpoint').write_text('')  # killed while rewriting it
    cfg = make_procedural_run_cfg(work, str(tmp_path / 'c'), max_iters=2)
    cfg.update(runner_type='AtomicCheckpointRunner', resume=True)
    resumed = RUNNERS.build(cfg)
    resumed.train()
    assert resumed.iter == 2
    assert _state(work / 'iter_2.pth')['meta']['iter'] == 2
    # nothing to fall back to: a clear error
    for p in glob.glob(str(work / '*.pth')):
        os.remove(p)
    (work / 'last_checkpoint').write_text(str(work / 'iter_2.pth'))
    with pytest.raises(FileNotFoundError, match='no other checkpoint'):
        RUNNERS.build(cfg).train()


@pytest.mark.slow
def test_kill_during_save_then_resume_matches_uninterrupted(tmp_path):
    (tmp_path / 'save_killer.py').write_text(SAVE_KILLER)
    base = dict(max_iters=6, ckpt_interval=2, aug=True)
    paths = {}
    for name in ('full', 'killed'):
        cfg = make_procedural_run_cfg(tmp_path / name, str(tmp_path / 'c'),
                                      **base)
        cfg.runner_type = 'AtomicCheckpointRunner'
        cfg.custom_imports = dict(imports=['mmvidseg', 'save_killer'])
        paths[name] = str(tmp_path / f'{name}.py')
        cfg.dump(paths[name])
    env = dict(PYTHONPATH=str(tmp_path))
    run([tool('train.py'), paths['full']], env=env)

    killed = tmp_path / 'killed'
    proc = run([tool('train.py'), paths['killed']], check=False,
               env=dict(env, KILL_DURING_SAVE='iter_4.pth'))
    assert proc.returncode == 3, proc.stderr[-3000:]
    # the interrupted write went to a temporary name; iter_4.pth never
    # existed, and last_checkpoint names the complete iter_2.pth
    assert osp.getsize(killed / '.iter_4.pth.tmp') > 0
    assert sorted(glob.glob(str(killed / 'iter_*.pth'))) == [
        str(killed / 'iter_2.pth')]
    target = (killed / 'last_checkpoint').read_text().strip()
    assert target == str(killed / 'iter_2.pth')
    assert _state(target)['meta']['iter'] == 2

    run([tool('train.py'), paths['killed'], '--resume'], env=env)
    assert not osp.exists(killed / '.iter_4.pth.tmp')
    full = _state(tmp_path / 'full' / 'iter_6.pth')['state_dict']
    resumed = _state(killed / 'iter_6.pth')['state_dict']
    assert full.keys() == resumed.keys()
    for k in full:
        assert torch.allclose(full[k].float(), resumed[k].float(),
                              atol=1e-6), k
    mid = _state(killed / 'iter_2.pth')['state_dict']
    assert any(not torch.equal(mid[k], full[k]) for k in full)
