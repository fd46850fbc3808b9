"""Catch misspelt top-level config keys that mmengine would silently ignore."""
import difflib
from typing import Iterable

#: Keys that ``mmengine.runner.Runner.from_cfg`` reads.
RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'custom_imports', 'tta_model', 'tta_pipeline')


#: Helper variables common in OpenMMLab configs (never flagged).
COMMON_VARIABLES = (
    'train_pipeline', 'val_pipeline', 'test_pipeline', 'img_scale',
    'crop_size', 'img_size', 'data_root', 'dataset_type', 'norm_cfg',
    'num_classes', 'vis_backends', 'checkpoint', 'pretrained', 'backend_args',
    'metainfo', 'clip_len', 'num_frames', 'prediction_writer')


def check_config_keys(cfg, known: Iterable[str] = RUNNER_KEYS) -> None:
    """Raise on a top-level key that looks like a misspelt runner key.

    Config files may define free helper variables (``crop_size``,
    ``train_pipeline``, ...), so unknown keys are allowed unless they are a
    near miss of a key the runner reads, which would otherwise be ignored
    silently (``trian_dataloader``, ``optim_wraper``).

    Raises:
        KeyError: Names the key and the runner key it resembles.
    """
    known = tuple(known)
    for key in cfg.keys():
        if key in known or key in COMMON_VARIABLES or key.startswith('_'):
            continue
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.9)
        if close:
            raise KeyError(f'unknown config key {key!r}: did you mean '
                           f'{close[0]!r}? (the runner would ignore it)')
