"""Collect the environment: python, torch, mmcv (and its ops), mm* versions."""
from typing import Dict

from mmengine.utils import get_git_hash  # noqa: F401 (re-exported helper)
from mmengine.utils.dl_utils import collect_env as collect_base_env


def mmcv_ops_available() -> bool:
    """Whether mmcv's compiled ops (``mmcv._ext``) load."""
    try:
        import mmcv._ext  # noqa: F401
        from mmcv.ops import ModulatedDeformConv2d  # noqa: F401
    except Exception:  # ImportError, or a broken build (OSError)
        return False
    return True


def collect_env() -> Dict[str, str]:
    """Versions of the stack mmvidseg runs on."""
    env = collect_base_env()
    import mmcv
    import mmseg

    import mmvidseg
    env['MMCV'] = mmcv.__version__
    env['MMCV ops compiled'] = str(mmcv_ops_available())
    env['MMSegmentation'] = mmseg.__version__
    try:
        import mmdet
        env['MMDetection'] = mmdet.__version__
    except ImportError:
        env['MMDetection'] = 'not installed'
    env['mmvidseg'] = mmvidseg.__version__
    return env


def main() -> None:
    for name, value in collect_env().items():
        print(f'{name}: {value}')


if __name__ == '__main__':
    main()
