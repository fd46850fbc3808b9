from .checkpoint_compat import (allow_mmengine_checkpoints,
                                mmengine_safe_globals)
from .collect_env import collect_env, mmcv_ops_available
from .config_check import RUNNER_KEYS, check_config_keys
from .io import atomic_imwrite, atomic_path, atomic_write_bytes
from .set_env import TESTED_MATRIX, check_versions, register_all_modules

__all__ = [
    'allow_mmengine_checkpoints', 'mmengine_safe_globals', 'collect_env',
    'mmcv_ops_available', 'RUNNER_KEYS', 'check_config_keys', 'TESTED_MATRIX',
    'check_versions', 'register_all_modules', 'atomic_imwrite', 'atomic_path',
    'atomic_write_bytes'
]
