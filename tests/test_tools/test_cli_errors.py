"""One-line errors of the tools for user mistakes (``--debug``: traceback).

Each case runs a tool in a subprocess (two at a time, none trains) and
checks exit status 1, exactly one line on stderr that names the file or the
key, and no traceback; the helpers behind them, and the tools that take an
``argv``, are tested in-process.
"""
import argparse
import importlib.util
import io
import os
import os.path as osp
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.logging import MMLogger

from mmvidseg.apis import FrameSource, check_sources
from mmvidseg.utils import (CheckpointError, allow_safe_globals,
                            check_cfg_options, check_checkpoint,
                            check_config_keys, check_data_roots,
                            check_run_inputs, load_checkpoint_file,
                            report_errors)
from mmvidseg.utils.cli import error_message

from ..conftest import make_procedural_run_cfg
from ._run import run, tool

pytestmark = pytest.mark.slow


class _Unlisted:
    """A class no allow-list holds (pickled by reference)."""


def _write_files(root):
    """Config, checkpoints and videos of every case under ``root``."""
    cfg = make_procedural_run_cfg(root / 'w', str(root / 'cache'),
                                  max_iters=1)
    cfg.dump(str(root / 'cfg.py'))
    state = dict(state_dict={'w': torch.zeros(2)}, meta={})
    torch.save(state, root / 'good.pth')
    data = (root / 'good.pth').read_bytes()
    (root / 'truncated.pth').write_bytes(data[:len(data) // 2])
    (root / 'text.pth').write_text('not a checkpoint\n')
    torch.save(dict(state, meta=dict(args=argparse.Namespace(lr=0.1))),
               root / 'namespace.pth')
    (root / 'not_a_video.mp4').write_text('not a video\n')
    writer = cv2.VideoWriter(str(root / 'no_frames.avi'),
                             cv2.VideoWriter_fourcc(*'MJPG'), 10, (32, 32))
    writer.release()
    os.makedirs(root / 'frames')
    for i in range(2):
        cv2.imwrite(str(root / 'frames' / f'{i:05d}.png'),
                    np.full((32, 32, 3), 60 * i, np.uint8))
    bad_root = make_procedural_run_cfg(root / 'w', str(root / 'cache'))
    bad_root.train_dataloader.dataset = dict(
        type='CamVidVideoDataset', data_root=str(root / 'no_camvid'),
        layout='segnet', split='train', pipeline=[])
    bad_root.dump(str(root / 'bad_root.py'))


# name: (tool, arguments, what stderr names); {r} is the case folder
CASES = {
    'test_missing_checkpoint': (
        'test.py', ['{r}/cfg.py', '{r}/missing.pth'],
        ["checkpoint '{r}/missing.pth' not found"]),
    'test_truncated_checkpoint': (
        'test.py', ['{r}/cfg.py', '{r}/truncated.pth'],
        ["'{r}/truncated.pth' is truncated or corrupt"]),
    'test_refused_global': (
        'test.py', ['{r}/cfg.py', '{r}/namespace.pth'],
        ["'{r}/namespace.pth'", 'refused argparse.Namespace',
         '--safe-globals argparse.Namespace']),
    'infer_text_checkpoint': (
        'infer_video.py', ['{r}/cfg.py', '{r}/text.pth', '{r}/frames',
                           '--out-dir', '{r}/out1'],
        ["'{r}/text.pth' is not a PyTorch checkpoint"]),
    'infer_not_a_video': (
        'infer_video.py', ['{r}/cfg.py', 'none', '{r}/not_a_video.mp4',
                           '--out-dir', '{r}/out3'],
        ["cannot open the video '{r}/not_a_video.mp4'"]),
    'infer_no_frames': (
        'infer_video.py', ['{r}/cfg.py', 'none', '{r}/no_frames.avi',
                           '--out-dir', '{r}/out4'],
        ["video '{r}/no_frames.avi' has no readable frames"]),
    'train_unknown_cfg_option': (
        'train.py', ['{r}/cfg.py', '--cfg-options', 'train_cfg.max_iter=1'],
        ["'train_cfg.max_iter'", "'train_cfg.max_iters'"]),
    'train_missing_data_root': (
        'train.py', ['{r}/bad_root.py'],
        ["data_root '{r}/no_camvid'", 'train_dataloader.dataset.data_root']),
}
DEBUG = ('test.py', ['{r}/cfg.py', '{r}/missing.pth', '--debug'])
ALLOWED = ('infer_video.py', [
    '{r}/cfg.py', '{r}/namespace.pth', '{r}/frames', '--out-dir',
    '{r}/allowed', '--overlay', 'none', '--safe-globals',
    'argparse.Namespace'
])


def _fill(args, root):
    return [a.replace('{r}', str(root)) for a in args]


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    """Every case's CompletedProcess, two tools at a time."""
    root = tmp_path_factory.mktemp('cli_errors')
    _write_files(root)
    jobs = dict(CASES, debug=DEBUG + ([], ), allowed=ALLOWED + ([], ))
    with ThreadPoolExecutor(2) as pool:
        futures = {
            name: pool.submit(run, [tool(t)] + _fill(args, root),
                              check=False, timeout=300)
            for name, (t, args, _) in jobs.items()
        }
        return root, {name: f.result() for name, f in futures.items()}


@pytest.mark.parametrize('case', sorted(CASES))
def test_one_line_error(runs, case):
    root, procs = runs
    proc = procs[case]
    prog, _, named = CASES[case]
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert lines[0].startswith(f'{osp.basename(prog)}: error: '), lines[0]
    for text in _fill(named, root):
        assert text in lines[0], lines[0]
    assert 'Traceback' not in proc.stderr


def test_debug_keeps_the_traceback(runs):
    root, procs = runs
    proc = procs['debug']
    assert proc.returncode == 1
    assert 'Traceback (most recent call last)' in proc.stderr
    assert f"FileNotFoundError: checkpoint '{root}/missing.pth' not " \
        'found' in proc.stderr


def test_safe_globals_lets_a_trusted_checkpoint_load(runs):
    root, procs = runs
    proc = procs['allowed']
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert '2 frames' in proc.stdout
    assert sorted(os.listdir(root / 'allowed' / 'masks')) == [
        '00000.png', '00001.png']


# ---------------------------------------------------------------- helpers
def test_check_checkpoint_names_file_and_reason(tmp_path):
    good = tmp_path / 'good.pth'
    torch.save(dict(state_dict={'w': torch.ones(3)}), good)
    check_checkpoint(str(good))
    check_checkpoint(None)
    check_checkpoint('https://example.com/weights.pth')  # mmengine reads it
    assert load_checkpoint_file(str(good))['state_dict']['w'].sum() == 3
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        check_checkpoint(str(tmp_path / 'nope.pth'))
    with pytest.raises(IsADirectoryError, match='is a folder'):
        check_checkpoint(str(tmp_path))
    (tmp_path / 'empty.pth').write_bytes(b'')
    with pytest.raises(CheckpointError, match=r'empty.pth.*empty \(0 bytes'):
        check_checkpoint(str(tmp_path / 'empty.pth'))
    # a legacy (pickle) file cut short
    data = io.BytesIO()
    torch.save({'w': torch.ones(3)}, data,
               _use_new_zipfile_serialization=False)
    (tmp_path / 'legacy.pth').write_bytes(data.getvalue()[:40])
    with pytest.raises(CheckpointError, match='legacy.pth.*truncated'):
        check_checkpoint(str(tmp_path / 'legacy.pth'))
    # a class of the saving script cannot be allowed from the command line
    torch.save(dict(x=_Unlisted()), tmp_path / 'obj.pth')
    with pytest.raises(CheckpointError) as exc:
        check_checkpoint(str(tmp_path / 'obj.pth'))
    assert exc.value.refused.endswith('test_cli_errors._Unlisted')
    assert 'obj.pth' in str(exc.value)


@pytest.fixture
def restore_safe_globals():
    """Undo what a test adds to torch's process-wide allow-list."""
    before = torch.serialization.get_safe_globals()
    yield
    torch.serialization.clear_safe_globals()
    torch.serialization.add_safe_globals(before)


def test_allow_safe_globals(tmp_path, restore_safe_globals):
    path = str(tmp_path / 'ns.pth')
    torch.save(dict(args=argparse.Namespace(lr=0.1), w=torch.ones(1)), path)
    with pytest.raises(CheckpointError, match='argparse.Namespace') as exc:
        check_checkpoint(path)
    assert exc.value.refused == 'argparse.Namespace'
    assert exc.value.path == path
    assert allow_safe_globals(['argparse.Namespace']) == [argparse.Namespace]
    assert load_checkpoint_file(path)['args'].lr == 0.1
    for bad in ('argparse.NoSuchClass', 'no_such_module.Thing', 'Namespace'):
        with pytest.raises(ValueError, match=repr(bad)):
            allow_safe_globals([bad])
    assert allow_safe_globals([]) == []


def test_check_cfg_options():
    cfg = Config(dict(
        model=dict(backbone=dict(depth=18), test_cfg=dict(mode='whole')),
        train_cfg=dict(max_iters=4),
        param_scheduler=[dict(type='PolyLR', eta_min=0)],
        test_dataloader=dict(dataset=dict(type='X'))))
    fine = {'train_cfg.max_iters': 2, 'model.backbone.depth': 50,
            'model.test_cfg.stride': 8,  # a new argument of a module
            'test_dataloader.dataset.videos': [1],
            'param_scheduler.0.eta_min': 1e-4, 'randomness.seed': 0,
            'runner_type': 'X', 'model._delete_': True}
    check_cfg_options(cfg, fine)
    check_cfg_options(cfg, None)
    for key, message in [
            ('train_cfg.max_iter', "did you mean 'train_cfg.max_iters'"),
            ('model.backbon.depth', "did you mean 'model.backbone'"),
            ('trian_cfg.max_iters', "did you mean 'train_cfg'"),
            ('my_option', 'not in the config and the runner does not'),
            ('param_scheduler.3.eta_min', 'list of 1 item')]:
        with pytest.raises(KeyError, match=message) as exc:
            check_cfg_options(cfg, {key: 1})
        assert repr(key) in str(exc.value)


def test_runner_type_is_a_runner_key():
    check_config_keys(Config(dict(runner_type='AtomicCheckpointRunner')))
    with pytest.raises(KeyError, match="'runner_typ'.*'runner_type'"):
        check_config_keys(Config(dict(runner_typ='X')))


def test_check_data_roots_and_run_inputs(tmp_path):
    inner = dict(type='X', data_root=str(tmp_path / 'gone'))
    cfg = Config(dict(
        train_dataloader=dict(dataset=dict(
            type='ConcatDataset',
            datasets=[dict(type='X', data_root=str(tmp_path)), inner])),
        val_dataloader=dict(dataset=dict(type='X', data_root='s3://b/x')),
        test_dataloader=dict(dataset=dict(
            type='RepeatDataset', dataset=dict(type='X', data_root=''))),
        val_cfg=dict(), val_evaluator=dict(type='M'), work_dir=str(tmp_path)))
    check_data_roots(cfg, ['val_dataloader', 'test_dataloader', 'nope'])
    key = 'train_dataloader.dataset.datasets.1.data_root'
    with pytest.raises(FileNotFoundError, match=f'gone.*{key}'):
        check_data_roots(cfg, ['train_dataloader'])
    with pytest.raises(FileNotFoundError, match='gone'):
        check_run_inputs(cfg, 'train')
    check_run_inputs(cfg, 'test')
    cfg.load_from = str(tmp_path / 'missing.pth')
    with pytest.raises(FileNotFoundError, match="checkpoint '.*missing.pth"):
        check_run_inputs(cfg, 'test')
    # resuming: the checkpoint named by work_dir/last_checkpoint
    cfg.load_from, cfg.resume = None, True
    cfg.train_dataloader = dict(dataset=dict(type='X'))
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'iter_8.pth'))
    named = r"resume checkpoint '.*iter_8.pth' not found \(named by .*last_c"
    with pytest.raises(FileNotFoundError, match=named):
        check_run_inputs(cfg, 'train')


def test_report_errors_messages(tmp_path):
    with pytest.raises(SystemExit) as exc:
        with report_errors('tool.py'):
            raise KeyError("unknown key 'x': did you mean 'y'?")
    assert exc.value.code == \
        "tool.py: error: unknown key 'x': did you mean 'y'?"
    with pytest.raises(SystemExit) as exc:
        with report_errors('tool.py'):
            raise FileNotFoundError("file 'a\nb' not found")
    assert exc.value.code == "tool.py: error: file 'a b' not found"
    # a bug is shown with its class and a hint at --debug
    assert error_message(KeyError('w')) == "KeyError: 'w'"
    with pytest.raises(SystemExit) as exc:
        with report_errors('tool.py'):
            {}['w']
    assert exc.value.code == ("tool.py: error: KeyError: 'w' (--debug "
                              'shows the traceback)')
    with pytest.raises(IndexError):
        with report_errors('tool.py', debug=True):
            [][0]
    # ... and its traceback goes to the run's log file when there is one
    log = tmp_path / 'run.log'
    MMLogger.get_instance('cli_errors_test', log_file=str(log))
    with pytest.raises(SystemExit) as exc:
        with report_errors('tool.py'):
            raise ZeroDivisionError('division by zero')
    assert exc.value.code == (
        'tool.py: error: ZeroDivisionError: division by zero (traceback in '
        f'{log}; --debug shows it)')
    assert 'Traceback (most recent call last)' in log.read_text()


def test_frame_sources_fail_when_opened(tmp_path):
    (tmp_path / 'empty.mp4').write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty.mp4.*0 bytes'):
        FrameSource(str(tmp_path / 'empty.mp4'))
    os.makedirs(tmp_path / 'frames')
    (tmp_path / 'frames' / '00000.png').write_bytes(b'not a png')
    with pytest.raises(OSError, match='cannot decode frame .*00000.png'):
        check_sources(str(tmp_path / 'frames'))
    # a folder of videos: every one is opened
    os.makedirs(tmp_path / 'videos')
    writer = cv2.VideoWriter(str(tmp_path / 'videos' / 'a.avi'),
                             cv2.VideoWriter_fourcc(*'MJPG'), 10, (16, 16))
    writer.write(np.zeros((16, 16, 3), np.uint8))
    writer.release()
    assert check_sources(str(tmp_path / 'videos')) == 1
    (tmp_path / 'videos' / 'b.mp4').write_text('not a video')
    with pytest.raises(OSError, match='b.mp4'):
        check_sources(str(tmp_path / 'videos'))


def _tool_module(name):
    path = tool(name)
    spec = importlib.util.spec_from_file_location(
        osp.splitext(osp.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_converters_name_the_checkpoint(tmp_path, restore_safe_globals):
    tmanet = _tool_module('model_converters/tmanet2mmvidseg.py')
    sali = _tool_module('model_converters/sali2mmvidseg.py')
    text, out = str(tmp_path / 'text.pth'), str(tmp_path / 'out.pth')
    (tmp_path / 'text.pth').write_text('not a checkpoint\n')
    for module, prog in ((tmanet, 'tmanet2mmvidseg.py'),
                         (sali, 'sali2mmvidseg.py')):
        with pytest.raises(SystemExit) as exc:
            module.main([text, out])
        assert exc.value.code == (
            f"{prog}: error: checkpoint '{text}' is not a PyTorch "
            "checkpoint (neither a zip archive nor a pickle; it starts with "
            "b'not a ch')")
        with pytest.raises(SystemExit) as exc:
            module.main([str(tmp_path / 'missing.pth'), out])
        assert 'missing.pth' in exc.value.code
    ns = str(tmp_path / 'ns.pth')
    torch.save(dict(state_dict={'decode_head.memory_key_conv.0.0.w':
                                torch.ones(1)},
                    meta=dict(args=argparse.Namespace(lr=0.1))), ns)
    with pytest.raises(SystemExit) as exc:
        sali.main([ns, out])
    assert '--safe-globals argparse.Namespace' in exc.value.code
    with pytest.raises(SystemExit) as exc:  # read, but not a SALI model
        sali.main([ns, out, '--safe-globals', 'argparse.Namespace'])
    assert 'refused' not in exc.value.code and ns in exc.value.code
    # the TMANet converter reads trusted pickles (weights_only=False)
    tmanet.main([ns, out])
    assert 'decode_head.memory_key_convs.0.0.w' in torch.load(
        out, weights_only=True)['state_dict']
    with pytest.raises(SystemExit) as exc:
        tmanet.main([out, str(tmp_path / 'again.pth')])
    assert exc.value.code.startswith(f"tmanet2mmvidseg.py: error: {out}: ")
    assert not osp.exists(tmp_path / 'again.pth')  # nothing half-written


def test_misspelt_key_and_missing_video_in_process(tmp_path):
    from mmvidseg.utils import load_run_config
    cfg = make_procedural_run_cfg(tmp_path / 'w', str(tmp_path / 'c'))
    cfg.optim_wraper = cfg.pop('optim_wrapper')
    cfg.dump(str(tmp_path / 'typo.py'))
    with pytest.raises(SystemExit) as exc:
        with report_errors('train.py'):
            load_run_config(str(tmp_path / 'typo.py'))
    assert exc.value.code == (
        "train.py: error: unknown config key 'optim_wraper': did you mean "
        "'optim_wrapper'? (the runner would ignore it)")
    with pytest.raises(FileNotFoundError, match='missing.mp4'):
        check_sources(str(tmp_path / 'missing.mp4'))
