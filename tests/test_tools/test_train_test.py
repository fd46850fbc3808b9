"""tools/train.py and tools/test.py end to end, kill-and-resume, bad keys."""
import glob
import os
import os.path as osp

import pytest
import torch

from ..conftest import make_procedural_run_cfg
from ._run import last_metrics, run, tool

pytestmark = pytest.mark.slow

KILLER = '''
import os
import signal

from mmengine.hooks import Hook

from mmvidseg.registry import HOOKS


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """SIGKILL the process after iteration ``at`` (a crash, no clean-up)."""
    priority = 'LOWEST'

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if runner.iter + 1 == self.at:
            os.kill(os.getpid(), signal.SIGKILL)
'''


def _weights(path):
    return torch.load(path, map_location='cpu', weights_only=True)[
        'state_dict']


def test_train_then_test_with_outputs(tmp_path):
    cfg = make_procedural_run_cfg(tmp_path / 'w', str(tmp_path / 'c'),
                                  max_iters=4, ckpt_interval=4, aug=True)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    run([tool('train.py'), cfg_path])
    ckpt = str(tmp_path / 'w' / 'iter_4.pth')
    assert osp.isfile(ckpt)
    out = tmp_path / 'masks'
    show = tmp_path / 'show'
    run([tool('test.py'), cfg_path, ckpt, '--out', str(out), '--show-dir',
         str(show), '--work-dir', str(tmp_path / 'tw')])
    videos = sorted(os.listdir(out))
    assert videos == ['video_000', 'video_001', 'video_002']
    assert len(os.listdir(out / 'video_000')) == 5
    assert glob.glob(str(show / '**' / '*.png'), recursive=True)
    assert 'mIoU' in last_metrics(tmp_path / 'tw')


def test_kill_and_resume_matches_uninterrupted(tmp_path):
    (tmp_path / 'killer_hook.py').write_text(KILLER)
    env = dict(PYTHONPATH=str(tmp_path))
    base = dict(max_iters=8, ckpt_interval=2, aug=True)
    cfg = make_procedural_run_cfg(tmp_path / 'full', str(tmp_path / 'c'),
                                  **base)
    cfg.dump(str(tmp_path / 'full.py'))
    run([tool('train.py'), str(tmp_path / 'full.py')])

    cfg = make_procedural_run_cfg(tmp_path / 'killed', str(tmp_path / 'c'),
                                  **base)
    cfg.custom_imports = dict(imports=['mmvidseg', 'killer_hook'])
    cfg.custom_hooks = [dict(type='KillAtIterHook', at=5)]
    cfg.dump(str(tmp_path / 'killed.py'))
    proc = run([tool('train.py'), str(tmp_path / 'killed.py')], env=env,
               check=False)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert osp.isfile(tmp_path / 'killed' / 'iter_4.pth')
    assert not osp.exists(tmp_path / 'killed' / 'iter_6.pth')
    run([tool('train.py'), str(tmp_path / 'killed.py'), '--resume',
         '--cfg-options', 'custom_hooks=[]'], env=env)
    full = _weights(tmp_path / 'full' / 'iter_8.pth')
    resumed = _weights(tmp_path / 'killed' / 'iter_8.pth')
    assert full.keys() == resumed.keys()
    for k in full:
        assert torch.allclose(full[k].float(), resumed[k].float(),
                              atol=1e-6), k
    # and the run was really different from the checkpoint it resumed from
    mid = _weights(tmp_path / 'killed' / 'iter_4.pth')
    assert any(not torch.equal(mid[k], full[k]) for k in full)


def test_unknown_config_keys_are_named(tmp_path):
    cfg = make_procedural_run_cfg(tmp_path / 'w', str(tmp_path / 'c'))
    cfg.trian_dataloader = cfg.train_dataloader
    cfg.dump(str(tmp_path / 'typo.py'))
    proc = run([tool('train.py'), str(tmp_path / 'typo.py')], check=False)
    assert proc.returncode != 0
    assert "'trian_dataloader'" in proc.stderr
    assert "'train_dataloader'" in proc.stderr
    cfg = make_procedural_run_cfg(tmp_path / 'w', str(tmp_path / 'c'))
    cfg.model['backbon'] = cfg.model.pop('backbone')
    cfg.dump(str(tmp_path / 'typo2.py'))
    proc = run([tool('train.py'), str(tmp_path / 'typo2.py')], check=False)
    assert proc.returncode != 0 and 'backbon' in proc.stderr
    proc = run([tool('train.py'), str(tmp_path / 'missing.py')], check=False)
    assert proc.returncode != 0 and 'missing.py' in proc.stderr


def test_print_config(tmp_path, repo_root):
    cfg = osp.join(repo_root, 'configs', 'demo',
                   'tempattn_r18-tiny_1xb8-clip3-600it_procedural-96x96.py')
    proc = run([tool('misc/print_config.py'), cfg, '--cfg-options',
                'train_cfg.max_iters=7'])
    assert 'VideoEncoderDecoder' in proc.stdout and 'max_iters=7' in \
        proc.stdout
