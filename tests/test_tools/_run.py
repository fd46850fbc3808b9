"""Helpers to run the tools in subprocesses."""
import os
import os.path as osp
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(args, cwd=ROOT, env=None, check=True, timeout=600, add_root=True):
    """Run ``python args...``; return the CompletedProcess."""
    env = dict(env or {})
    full_env = dict(os.environ)
    extra = [env.pop('PYTHONPATH')] if 'PYTHONPATH' in env else []
    full_env['PYTHONPATH'] = os.pathsep.join(
        ([ROOT] if add_root else []) + extra +
        [full_env.get('PYTHONPATH', '')])
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    proc = subprocess.run([sys.executable] + list(args), cwd=cwd,
                          env=full_env, capture_output=True, text=True,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(
            f'{args} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n'
            f'{proc.stderr[-5000:]}')
    return proc


def tool(name):
    return osp.join(ROOT, 'tools', name)


def last_metrics(work_dir, key='mIoU'):
    """The last record with ``key`` (default ``mIoU``) in a run's logs
    (``<timestamp>/<timestamp>.json`` for tests, ``vis_data/`` in training).
    """
    import glob
    import json
    files = sorted(glob.glob(osp.join(str(work_dir), '**', '*.json'),
                             recursive=True), key=osp.getmtime)
    records = [json.loads(line) for f in files for line in open(f)
               if line.strip()]
    records = [r for r in records if isinstance(r, dict) and key in r]
    assert records, f'no metrics with {key} under {work_dir}'
    return records[-1]
