"""MS-TFAL's ResNet-18 at output stride 8 (``ResNet18_OS8``)."""
from typing import Dict, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmvidseg.registry import MODELS

#: Parameter prefixes taken from an ImageNet (torchvision) ResNet-18.
PRETRAINED_PREFIXES = ('conv1.', 'bn1.', 'layer1.', 'layer2.')


class _DilatedBasicBlock(nn.Module):
    """Residual block of two 3x3 convolutions, **both** dilated.

    ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``; ``conv1``
    carries the stride, both convolutions use ``padding = dilation``; the
    shortcut is ``1x1 conv (stride) + norm`` when the shape changes,
    identity otherwise. With ``dilation=1`` this is torchvision's
    ``BasicBlock`` (same parameter names). mmseg's ``BasicBlock`` differs:
    it dilates ``conv1`` only.
    """

    def __init__(self, in_channels: int, channels: int, stride: int,
                 dilation: int, norm_cfg: dict) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, dilation,
                               dilation, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, dilation, dilation,
                               bias=False)
        self.bn2 = build_norm_layer(norm_cfg, channels)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or in_channels != channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride, bias=False),
                build_norm_layer(norm_cfg, channels)[1])

    def forward(self, x: Tensor) -> Tensor:
        """(N, C_in, H, W) -> (N, C, H / stride, W / stride)."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(out + identity)


@MODELS.register_module()
class ResNet18OS8(BaseModule):
    """ResNet-18 with output stride 8, as MS-TFAL builds it
    (``net/Ours/resnet.py``, ``ResNet18_OS8``).

    * ImageNet ResNet-18 stem and first two stages: ``conv1`` (7x7/2),
      ``bn1``, ReLU, max-pool (3x3/2), ``layer1`` (2 blocks, 64 ch),
      ``layer2`` (2 blocks, 128 ch, stride 2) -> 128 ch at stride 8.
    * Two **new, randomly initialised** stages (ImageNet ``layer3`` and
      ``layer4`` are discarded): ``layer4`` = 2 blocks 128 -> 256 with
      dilation ``dilations[0]`` (2), ``layer5`` = 2 blocks 256 -> 512 with
      dilation ``dilations[1]`` (4), stride 1; both 3x3 convolutions of
      every block are dilated. The names ``layer4``/``layer5`` are the
      original's.

    mmseg's ``ResNet(depth=18, strides=(1, 2, 1, 1), dilations=(1, 1, 2,
    4))`` is *not* equivalent: its basic block leaves ``conv2``
    undilated.

    Weights: with ``init_cfg=dict(type='Pretrained', checkpoint=...)`` (a
    torchvision ResNet-18 state dict: the URL
    ``https://download.pytorch.org/models/resnet18-f37072fd.pth``, a local
    file, or ``'torchvision://resnet18'`` when torchvision is installed)
    only ``conv1.*``, ``bn1.*``, ``layer1.*`` and ``layer2.*`` are loaded
    (same key names as torchvision); every other key of the checkpoint is
    ignored and ``layer4``/``layer5`` keep PyTorch's default
    initialisation, as in the original. Without ``init_cfg`` all modules
    keep PyTorch's default initialisation.

    Args:
        in_channels (int): Input image channels. Defaults to 3.
        dilations (Sequence[int]): Dilation of ``layer4`` and ``layer5``.
            Defaults to (2, 4).
        norm_cfg (dict): Normalisation layers. Defaults to BN.
        norm_eval (bool): Keep norm layers in eval mode while training.
            Defaults to False (the original trains them).
        init_cfg (dict, optional): ``Pretrained`` (see above) or any
            mmengine initialisation config.
    """

    def __init__(self,
                 in_channels: int = 3,
                 dilations: Sequence[int] = (2, 4),
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg)
        if len(dilations) != 2:
            raise ValueError(f'dilations must give layer4 and layer5, got '
                             f'{dilations}')
        self.norm_eval = norm_eval
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, 64)[1]
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_stage(64, 64, 1, 1, norm_cfg)
        self.layer2 = self._make_stage(64, 128, 2, 1, norm_cfg)
        self.layer4 = self._make_stage(128, 256, 1, dilations[0], norm_cfg)
        self.layer5 = self._make_stage(256, 512, 1, dilations[1], norm_cfg)

    @staticmethod
    def _make_stage(in_channels: int, channels: int, stride: int,
                    dilation: int, norm_cfg: dict) -> nn.Sequential:
        """Two blocks; the first one carries the stride."""
        return nn.Sequential(
            _DilatedBasicBlock(in_channels, channels, stride, dilation,
                               norm_cfg),
            _DilatedBasicBlock(channels, channels, 1, dilation, norm_cfg))

    def init_weights(self) -> None:
        """Load the ImageNet stem/``layer1``/``layer2`` for a ``Pretrained``
        ``init_cfg``; defer to mmengine otherwise."""
        cfg = self.init_cfg
        if not (isinstance(cfg, dict) and cfg.get('type') == 'Pretrained'):
            super().init_weights()
            return
        checkpoint = cfg.get('checkpoint')
        if checkpoint is None:
            raise KeyError('ResNet18OS8 init_cfg type Pretrained needs a '
                           '`checkpoint`')
        ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
        self.load_imagenet_weights(ckpt.get('state_dict', ckpt), checkpoint)
        self._is_init = True

    def load_imagenet_weights(self, state_dict: Dict[str, Tensor],
                              source: str = 'state dict') -> None:
        """Copy ``conv1/bn1/layer1/layer2`` from a torchvision ResNet-18
        state dict; other keys (``layer3``, ``layer4``, ``fc``) are ignored.

        Raises:
            KeyError: A key of those stages is missing from ``source``.
        """
        own = {k: v for k, v in self.state_dict().items()
               if k.startswith(PRETRAINED_PREFIXES)}
        missing = sorted(set(own) - set(state_dict))
        if missing:
            raise KeyError(f'{source} lacks ImageNet ResNet-18 keys '
                           f'{missing[:4]}{"..." if len(missing) > 4 else ""}')
        self.load_state_dict({k: state_dict[k] for k in own}, strict=False)

    def forward(self, x: Tensor) -> Tuple[Tensor]:
        """(N, C_in, H, W) -> ((N, 512, ceil(H / 8), ceil(W / 8)),)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        return (self.layer5(self.layer4(x)), )

    def train(self, mode: bool = True) -> 'ResNet18OS8':
        """Switch mode; norm layers stay in eval when ``norm_eval``."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
