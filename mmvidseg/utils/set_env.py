"""Registration helpers and the tested version matrix."""
import warnings

from packaging.version import parse

#: package -> (lowest tested, first untested) version
TESTED_MATRIX = {
    'torch': ('2.1.0', '2.14.0'),
    'mmengine': ('0.10.0', '0.11.0'),
    'mmcv': ('2.1.0', '2.2.0'),
    'mmseg': ('1.2.2', '1.3.0'),
    'mmdet': ('3.3.0', '3.4.0'),
}


def check_versions() -> None:
    """Warn (never raise) about packages outside the tested matrix."""
    import importlib
    for name, (low, high) in TESTED_MATRIX.items():
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        version = getattr(module, '__version__', '0').split('+')[0]
        if not parse(low) <= parse(version) < parse(high):
            warnings.warn(
                f'mmvidseg is tested with {low} <= {name} < {high}; found '
                f'{version}. It may work, but this is untested.',
                stacklevel=2)


def register_all_modules(init_default_scope: bool = True) -> None:
    """Register mmseg's and mmvidseg's modules.

    Args:
        init_default_scope (bool): Also set mmengine's default scope to
            ``mmseg`` (where mmvidseg registers its modules).
    """
    from mmseg.utils import register_all_modules as mmseg_register

    import mmvidseg.datasets  # noqa: F401
    import mmvidseg.engine  # noqa: F401
    import mmvidseg.evaluation  # noqa: F401
    import mmvidseg.models  # noqa: F401
    mmseg_register(init_default_scope=init_default_scope)
