"""The one seam between mmvidseg and the OpenMMLab registries.

mmvidseg registers its modules into mmseg's registry nodes so that configs
keep ``default_scope='mmseg'`` and stock mmseg configs can use mmvidseg
classes after ``custom_imports=dict(imports=['mmvidseg'])``. Every mmvidseg
module imports its registry from here, never from mmseg directly.
"""
from mmseg.registry import (DATA_SAMPLERS, DATASETS, EVALUATOR, HOOKS, LOOPS,
                            METRICS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS,
                            OPTIM_WRAPPERS, PARAM_SCHEDULERS, RUNNERS,
                            TASK_UTILS, TRANSFORMS, VISBACKENDS, VISUALIZERS)

__all__ = [
    'DATA_SAMPLERS', 'DATASETS', 'EVALUATOR', 'HOOKS', 'LOOPS', 'METRICS',
    'MODELS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'OPTIM_WRAPPERS',
    'PARAM_SCHEDULERS', 'RUNNERS', 'TASK_UTILS', 'TRANSFORMS', 'VISBACKENDS',
    'VISUALIZERS'
]
