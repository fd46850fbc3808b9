from .checkpoint_compat import (CheckpointError, allow_mmengine_checkpoints,
                                allow_safe_globals, check_checkpoint,
                                load_checkpoint_file, mmengine_safe_globals)
from .cli import add_debug_arg, add_safe_globals_arg, report_errors
from .collect_env import collect_env, mmcv_ops_available
from .config_check import (RUNNER_KEYS, check_cfg_options, check_config_keys,
                           check_data_roots, check_run_inputs)
from .io import (atomic_imwrite, atomic_path, atomic_write_bytes,
                 atomic_write_mask, read_mask)
from .runner_helpers import (add_prediction_writer, add_runner_args,
                             enable_amp, enable_show_dir, load_run_config,
                             setup_cpu_distributed, teardown_distributed)
from .set_env import TESTED_MATRIX, check_versions, register_all_modules

# The benchmark harness (benchmark.py, read_benchmark.py,
# benchmark_references.py) imports the models; import it as a submodule
# (``from mmvidseg.utils.benchmark import run_benchmark``), like mmdet's.
__all__ = [
    'allow_mmengine_checkpoints', 'mmengine_safe_globals', 'collect_env',
    'mmcv_ops_available', 'RUNNER_KEYS', 'check_config_keys', 'TESTED_MATRIX',
    'check_versions', 'register_all_modules', 'atomic_imwrite', 'atomic_path',
    'atomic_write_bytes', 'atomic_write_mask', 'read_mask', 'report_errors',
    'add_prediction_writer', 'add_runner_args', 'enable_amp',
    'enable_show_dir', 'load_run_config', 'setup_cpu_distributed',
    'teardown_distributed', 'CheckpointError', 'allow_safe_globals',
    'check_checkpoint', 'load_checkpoint_file', 'add_debug_arg',
    'add_safe_globals_arg', 'check_cfg_options', 'check_data_roots',
    'check_run_inputs'
]
