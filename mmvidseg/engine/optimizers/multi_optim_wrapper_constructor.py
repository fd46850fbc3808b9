"""One optimiser wrapper per submodule (e.g. the two CPS branches)."""
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from mmvidseg.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an ``OptimWrapperDict``: for every key of the config, an optim
    wrapper over the parameters of the model's submodule of that name.

    mmengine builds multiple optimisers only through a constructor; this
    one is the plain case (no shared parameters). Example::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            segmentor1=dict(type='AmpOptimWrapper',
                            optimizer=dict(type='AdamW', lr=1e-4)),
            segmentor2=dict(type='AmpOptimWrapper',
                            optimizer=dict(type='AdamW', lr=1e-4)))

    Each value is built by mmengine's ``DefaultOptimWrapperConstructor``
    (its own ``paramwise_cfg`` allowed; the top-level ``paramwise_cfg``
    applies to the values without one). Parameters of the model outside
    the named submodules are not optimised.

    Args:
        optim_wrapper_cfg (dict): Submodule name -> optim wrapper config.
        paramwise_cfg (dict, optional): Default ``paramwise_cfg``.
    """

    def __init__(self,
                 optim_wrapper_cfg: dict,
                 paramwise_cfg: Optional[dict] = None) -> None:
        if not isinstance(optim_wrapper_cfg, dict) or not optim_wrapper_cfg:
            raise TypeError('MultiOptimWrapperConstructor: optim_wrapper '
                            'needs one config per submodule name')
        self.constructors = {}
        for name, cfg in optim_wrapper_cfg.items():
            if not isinstance(cfg, dict) or 'optimizer' not in cfg:
                raise KeyError(
                    f'MultiOptimWrapperConstructor: optim_wrapper.{name} '
                    f'must be an optim wrapper config with an optimizer')
            cfg = dict(cfg)
            self.constructors[name] = DefaultOptimWrapperConstructor(
                cfg, cfg.pop('paramwise_cfg', paramwise_cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, constructor in self.constructors.items():
            module = getattr(model, name, None)
            if not isinstance(module, nn.Module):
                raise KeyError(
                    f'MultiOptimWrapperConstructor: the model '
                    f'{type(model).__name__} has no submodule {name!r}')
            wrappers[name] = constructor(module)
        return OptimWrapperDict(**wrappers)
