"""mmvidseg: video segmentation as an OpenMMLab (mmseg 1.x) plugin.

``import mmvidseg`` registers every module into mmseg's registries, so a
config only needs ``custom_imports=dict(imports=['mmvidseg'])``.
"""
from .utils.checkpoint_compat import allow_mmengine_checkpoints
from .utils.set_env import check_versions
from .version import __version__

check_versions()
allow_mmengine_checkpoints()

from . import datasets, engine, evaluation, models  # noqa: E402,F401

__all__ = ['__version__', 'datasets', 'engine', 'evaluation', 'models']
