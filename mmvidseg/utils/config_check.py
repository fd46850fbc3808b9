"""Catch config mistakes before a run starts.

Misspelt top-level keys that mmengine would silently ignore, unknown keys in
``--cfg-options`` and dataset ``data_root`` folders that do not exist are
reported with the key that names them.
"""
import difflib
import os.path as osp
from typing import Any, Iterable, Mapping, Optional, Sequence

#: Keys that ``mmengine.runner.Runner.from_cfg`` reads.
RUNNER_KEYS = (
    'model', 'work_dir', 'train_dataloader', 'val_dataloader',
    'test_dataloader', 'train_cfg', 'val_cfg', 'test_cfg', 'auto_scale_lr',
    'optim_wrapper', 'param_scheduler', 'val_evaluator', 'test_evaluator',
    'default_hooks', 'custom_hooks', 'data_preprocessor', 'load_from',
    'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level',
    'visualizer', 'default_scope', 'randomness', 'experiment_name',
    'custom_imports', 'tta_model', 'tta_pipeline', 'model_wrapper_cfg',
    'find_unused_parameters', 'sync_bn', 'compile', 'efficient_conv_bn_eval',
    'activation_checkpointing', 'cfg',
    # read by tools/train.py and tools/test.py: a Runner subclass
    'runner_type')


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


def _close(key: str, candidates: Iterable[str]) -> Optional[str]:
    close = difflib.get_close_matches(key, list(candidates), n=1,
                                      cutoff=0.85)
    return close[0] if close else None


def check_cfg_options(cfg: Mapping, options: Optional[Mapping[str, Any]],
                      known: Iterable[str] = RUNNER_KEYS) -> None:
    """Raise on an unknown key in ``--cfg-options`` (before merging them).

    ``Config.merge_from_dict`` adds any key it is given, so a typo there is
    silently ignored or fails much later. A top-level key must be in the
    config or be a key the runner reads; below it, a key may be new (a new
    argument of a module) unless it is a near miss of a key next to it
    (``train_cfg.max_iter`` for ``max_iters``, ``model.backbon.depth``).

    Args:
        cfg (Mapping): The config the options will be merged into.
        options (Mapping, optional): ``{dotted key: value}`` as
            ``DictAction`` parses ``--cfg-options``.

    Raises:
        KeyError: Names the option key and, if any, the key it resembles.
    """
    known = tuple(known)
    for full_key in options or {}:
        parts = str(full_key).split('.')
        node: Any = cfg
        for depth, part in enumerate(parts):
            where = '.'.join(parts[:depth])
            if isinstance(node, (list, tuple)):
                if not part.isdigit() or int(part) >= len(node):
                    raise KeyError(
                        f'--cfg-options key {full_key!r}: {where!r} is a '
                        f'list of {len(node)} item(s); {part!r} is no index '
                        'of it')
                node = node[int(part)]
                continue
            is_dict = isinstance(node, Mapping) or depth == 0  # a Config
            if not is_dict or part.startswith('_'):
                break  # a value replaced by a dict, or _delete_: as given
            if part in node:
                node = node[part]
                continue
            if depth == 0:
                if part in known or part in COMMON_VARIABLES:
                    break
                close = _close(part, list(node.keys()) + list(known))
                hint = (f'did you mean {close!r}?' if close else
                        'it is not in the config and the runner does not '
                        'read it')
                raise KeyError(f'unknown key {full_key!r} in --cfg-options: '
                               f'{hint}')
            close = _close(part, [str(k) for k in node.keys()])
            if close:
                raise KeyError(
                    f'unknown key {full_key!r} in --cfg-options: {where!r} '
                    f'has no {part!r}; did you mean '
                    f"{'.'.join(parts[:depth] + [close])!r}?")
            break  # a new key of an existing dict


def _data_roots(node: Any, key: str) -> Iterable:
    """``(dotted key, data_root)`` of a dataset config and the datasets it
    wraps (``dataset``, ``datasets``)."""
    if not isinstance(node, Mapping):
        return
    root = node.get('data_root')
    if isinstance(root, str) and root and '://' not in root:
        yield f'{key}.data_root', root
    inner = node.get('dataset')
    if inner is not None:
        yield from _data_roots(inner, f'{key}.dataset')
    for i, sub in enumerate(node.get('datasets') or []):
        yield from _data_roots(sub, f'{key}.datasets.{i}')


def check_data_roots(cfg: Mapping, loaders: Sequence[str]) -> None:
    """Raise if the ``data_root`` of a dataloader's dataset is missing.

    Args:
        cfg (Mapping): The run config.
        loaders (Sequence[str]): Dataloader keys the run builds, e.g.
            ``['train_dataloader', 'val_dataloader']``; absent ones are
            skipped.

    Raises:
        FileNotFoundError: Names the folder and the key that sets it.
    """
    for loader in loaders:
        for key, root in _data_roots(cfg.get(loader) or {}, loader):
            if not osp.isdir(root):
                raise FileNotFoundError(
                    f'data_root {root!r} ({key}) not found; set it with '
                    f'--cfg-options {key}=DIR')


def check_run_inputs(cfg: Mapping, mode: str) -> None:
    """Check a run's inputs before anything is built (fail at once).

    The ``data_root`` of every dataloader the run builds (``train``: train,
    and val when ``val_cfg`` and ``val_evaluator`` are set; ``test``: test)
    and the checkpoint it loads (``load_from``; when resuming without it,
    the one named by ``work_dir/last_checkpoint``), read the way mmengine
    will read it (see :func:`~mmvidseg.utils.check_checkpoint`).

    Raises:
        FileNotFoundError: A missing data root or checkpoint, named with
            the key that sets it.
        CheckpointError: A checkpoint torch cannot load.
    """
    from .checkpoint_compat import check_checkpoint
    if mode not in ('train', 'test'):
        raise ValueError(f"mode must be 'train' or 'test', got {mode!r}")
    loaders = ['test_dataloader']
    if mode == 'train':
        loaders = ['train_dataloader']
        if cfg.get('val_cfg') and cfg.get('val_evaluator'):
            loaders.append('val_dataloader')
    check_data_roots(cfg, loaders)
    load_from = cfg.get('load_from')
    if load_from:
        check_checkpoint(load_from, what='checkpoint' if mode == 'test'
                         else 'load_from checkpoint')
    elif mode == 'train' and cfg.get('resume') and cfg.get('work_dir'):
        saved = osp.join(cfg['work_dir'], 'last_checkpoint')
        if osp.isfile(saved):
            with open(saved) as f:
                path = f.read().strip()
            try:
                check_checkpoint(path, what='resume checkpoint')
            except FileNotFoundError as exc:
                raise FileNotFoundError(
                    f'{exc} (named by {saved!r})') from exc
