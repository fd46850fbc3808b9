"""A Runner whose checkpoints are written atomically.

mmengine 0.10.x writes ``iter_N.pth`` in place (``LocalBackend.put`` opens the
final name and writes), so a run killed during a save leaves a truncated
checkpoint under its final name; with ``max_keep_ckpts`` or a fixed
``filename_tmpl`` that broken file can be the one ``last_checkpoint`` names.

Why a Runner subclass: every checkpoint save (``CheckpointHook``'s periodic,
last and best checkpoints) goes through ``Runner.save_checkpoint``, and
``CheckpointHook`` updates ``last_checkpoint`` only after it returns. Here
that method writes the checkpoint to a hidden temporary name beside the
target, flushes it to disk and renames it (``os.replace``, atomic on POSIX
and Windows), so the final name only ever holds a complete file. The
alternatives are worse: patching mmengine globally would change every
program that imports mmvidseg; a registered file backend or a CheckpointHook
subclass would have to be named in every config's ``default_hooks``. A
runner is chosen by one top-level key, ``runner_type='AtomicCheckpointRunner'``
(set in ``configs/_base_/default_runtime.py``); ``tools/train.py`` and
``tools/test.py`` build it through ``RUNNERS`` like mmseg's tools, and plugin
users add the same key to their configs. Non-local backends (object stores,
whose uploads are atomic already) and the deprecated ``file_client_args``
keep mmengine's behaviour.

``CheckpointHook`` rewrites the small ``last_checkpoint`` file in place; a
kill in that instant leaves it empty. On auto-resume this runner then falls
back to the newest complete checkpoint of the work directory.
"""
import glob
import os
import os.path as osp
from typing import Optional

from mmengine.dist import master_only
from mmengine.fileio import get_file_backend
from mmengine.fileio.backends import LocalBackend
from mmengine.runner import Runner
from mmengine.runner.checkpoint import find_latest_checkpoint

from mmvidseg.registry import RUNNERS


def _fsync(path: str) -> None:
    """Flush a file (or, where the OS allows, a directory) to disk."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@RUNNERS.register_module()
class AtomicCheckpointRunner(Runner):
    """:class:`mmengine.runner.Runner` with crash-safe checkpoint files.

    Same arguments and behaviour as ``Runner``, except that
    :meth:`save_checkpoint` writes ``.<name>.tmp`` and renames it to
    ``<name>``, and that auto-resume survives an empty or dangling
    ``last_checkpoint`` (see the module docstring).
    """

    @master_only
    def save_checkpoint(self,
                        out_dir: str,
                        filename: str,
                        file_client_args: Optional[dict] = None,
                        save_optimizer: bool = True,
                        save_param_scheduler: bool = True,
                        meta: Optional[dict] = None,
                        by_epoch: bool = True,
                        backend_args: Optional[dict] = None) -> None:
        """Save a checkpoint to ``out_dir/filename`` atomically.

        Arguments as in :meth:`mmengine.runner.Runner.save_checkpoint`.
        """
        kwargs = dict(
            file_client_args=file_client_args,
            save_optimizer=save_optimizer,
            save_param_scheduler=save_param_scheduler,
            meta=meta,
            by_epoch=by_epoch,
            backend_args=backend_args)
        local = file_client_args is None and isinstance(
            get_file_backend(out_dir, backend_args=backend_args),
            LocalBackend)
        if not local:
            return super().save_checkpoint(out_dir, filename, **kwargs)
        head, tail = osp.split(filename)
        tmp_name = osp.join(head, f'.{tail}.tmp')
        tmp, final = osp.join(out_dir, tmp_name), osp.join(out_dir, filename)
        try:
            super().save_checkpoint(out_dir, tmp_name, **kwargs)
            _fsync(tmp)
            os.replace(tmp, final)
        finally:
            if osp.exists(tmp):
                os.remove(tmp)
        _fsync(osp.dirname(osp.abspath(final)))

    def load_or_resume(self) -> None:
        """Auto-resume from the newest complete checkpoint if
        ``last_checkpoint`` is empty or names a missing file."""
        if self._has_loaded or not self._resume or self._load_from:
            return super().load_or_resume()
        latest = find_latest_checkpoint(self.work_dir)
        if latest == '' or (latest and not osp.isfile(latest)
                            and '://' not in latest):
            found = [
                p for p in glob.glob(osp.join(self.work_dir, '*.pth'))
                if osp.isfile(p)
            ]
            if not found:
                record = osp.join(self.work_dir, 'last_checkpoint')
                raise FileNotFoundError(
                    f'cannot resume: {record} names {latest!r}, and '
                    f'{self.work_dir} has no other checkpoint')
            newest = max(found, key=osp.getmtime)
            self.logger.warning(
                f'last_checkpoint names {latest!r}, which is not a file; '
                f'resuming from the newest checkpoint {newest}')
            self._load_from = newest
        return super().load_or_resume()
