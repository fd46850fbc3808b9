"""Config handling shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os.path as osp
from typing import Optional

from mmengine.config import Config, DictAction  # noqa: F401 (re-export)

from .config_check import check_cfg_options, check_config_keys


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """``--cfg-options``, ``--launcher`` and ``--local-rank`` for the tools."""
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. train_cfg.max_iters=100')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_run_config(config: str,
                    work_dir: Optional[str] = None,
                    cfg_options: Optional[dict] = None,
                    launcher: str = 'none') -> Config:
    """Load a config, apply overrides and check its top-level keys.

    Raises:
        FileNotFoundError: The config file does not exist.
        KeyError: A misspelt runner key (see :func:`check_config_keys`)
            or an unknown ``--cfg-options`` key (see
            :func:`check_cfg_options`).
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config file {config!r} not found')
    cfg = Config.fromfile(config)
    if cfg_options:
        check_cfg_options(cfg, cfg_options)
        cfg.merge_from_dict(cfg_options)
    check_config_keys(cfg)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(config))[0])
    return cfg


def enable_amp(cfg: Config) -> None:
    """Switch the optimizer wrapper to mixed precision."""
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        return
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp needs an OptimWrapper, found {wrapper!r}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')


def enable_show_dir(cfg: Config, show_dir: str, show: bool = False,
                    wait_time: float = 2) -> None:
    """Make the test run draw prediction overlays into ``show_dir``."""
    if cfg.get('default_hooks') is None:
        cfg.default_hooks = dict()
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        hooks['visualization'] = dict(type='SegVisualizationHook')
    if cfg.get('visualizer') is None:
        cfg.visualizer = dict(
            type='SegLocalVisualizer',
            vis_backends=[dict(type='LocalVisBackend')],
            name='visualizer')
    vis = hooks['visualization']
    vis.draw = True
    if show:
        vis.show = True
        vis.wait_time = wait_time
    if show_dir:
        cfg.visualizer.save_dir = show_dir
    vis.setdefault('interval', 1)


def add_prediction_writer(cfg: Config, out_dir: str) -> None:
    """Save every predicted mask under ``out_dir/<video>/<frame>.png``.

    Options of the writer come from the config's ``prediction_writer``
    (e.g. ``dict(palette='davis')``).
    """
    hooks = list(cfg.get('custom_hooks', None) or [])
    options = dict(cfg.get('prediction_writer', None) or {})
    hooks.append(
        dict(type='VideoPredictionWriterHook', out_dir=out_dir, **options))
    cfg.custom_hooks = hooks


def setup_cpu_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch`` work without CUDA (gloo on CPU).

    mmengine 0.10.x always calls ``torch.cuda.set_device`` when it sets up a
    PyTorch launcher, and wraps the model in DDP with ``device_ids``; both
    fail on CPU-only machines. Here the process group is initialised with
    gloo beforehand (mmengine then skips its own initialisation) and DDP gets
    ``device_ids=None``, as CPU modules require. No-op when CUDA is available
    or the run is not distributed.
    """
    import torch
    import torch.distributed as dist
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(
        type='MMDistributedDataParallel')
    wrapper.setdefault('device_ids', None)
    cfg.model_wrapper_cfg = wrapper


def teardown_distributed() -> None:
    """Free the model and destroy the process group before exit.

    Left alive until interpreter shutdown, gloo's worker threads can run a
    Python callback while Python finalises, which intermittently aborts a
    finished run ("terminate called without an active exception", exit code
    -6) after its outputs are saved. Call it after dropping the last
    reference to the runner (the DDP-wrapped model holds the group).
    """
    import gc

    import torch.distributed as dist
    gc.collect()
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
