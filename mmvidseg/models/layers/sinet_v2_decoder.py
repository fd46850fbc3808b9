"""SINet-V2 style decoder used by SALI: NCD + three reverse stages."""
from typing import Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from .neighbor_connection_decoder import NeighborConnectionDecoder
from .reverse_stage import ReverseStage

# Upsampling factor of (S_g, S_5, S_4, S_3) to the input size.
PREDICTION_SCALES = (8, 32, 16, 8)


def _resize(x: Tensor, scale: float) -> Tensor:
    # The original uses scale factors (align_corners=False), not sizes; with
    # sizes that are not multiples of 32 the two differ, so keep them.
    return F.interpolate(x, scale_factor=scale, mode='bilinear')


class SINetV2Decoder(nn.Module):
    """SINet-V2 decoder (neighbour connection decoder + reverse stages).

    From fused features ``F1`` (1/8), ``F2`` (1/16), ``F3`` (1/32)::

        S_g = NCD(F3, F2, F1)                                   # 1/8
        g5 = down4(S_g);  S_5 = RS5(F3, g5) + g5                # 1/32
        g4 = up2(S_5);    S_4 = RS4(F2, g4) + g4                # 1/16
        g3 = up2(S_4);    S_3 = RS3(F1, g3) + g3                # 1/8

    where resizing is bilinear by a scale factor (0.25 / 2,
    ``align_corners=False``). ``S_3`` is SALI's prediction; ``[S_3, S_4,
    S_5]`` are the logits SALI's memory stores.

    Args:
        channels (int): Channels of the three inputs. Defaults to 32.
    """

    def __init__(self, channels: int = 32) -> None:
        super().__init__()
        self.ncd = NeighborConnectionDecoder(channels)
        self.reverse_stage5 = ReverseStage(channels)
        self.reverse_stage4 = ReverseStage(channels)
        self.reverse_stage3 = ReverseStage(channels)

    def forward(self, feats: Sequence[Tensor]
                ) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
        """Decode.

        Args:
            feats (Sequence[Tensor]): ``[F1, F2, F3]``, shapes (N, C, H, W),
                (N, C, H/2, W/2), (N, C, H/4, W/4) (H = input height / 8).

        Returns:
            tuple[Tensor]: Logits ``(S_g, S_5, S_4, S_3)`` at their own
            resolutions: (N, 1, H, W), (N, 1, H/4, W/4), (N, 1, H/2, W/2),
            (N, 1, H, W).
        """
        if len(feats) != 3:
            raise ValueError(f'SINetV2Decoder expects 3 feature maps, got '
                             f'{len(feats)}')
        f1, f2, f3 = feats
        s_g = self.ncd(f3, f2, f1)
        guidance = _resize(s_g, 0.25)
        s_5 = self.reverse_stage5(f3, guidance) + guidance
        guidance = _resize(s_5, 2)
        s_4 = self.reverse_stage4(f2, guidance) + guidance
        guidance = _resize(s_4, 2)
        s_3 = self.reverse_stage3(f1, guidance) + guidance
        return s_g, s_5, s_4, s_3

    @staticmethod
    def upsample_predictions(preds: Sequence[Tensor]) -> Tuple[Tensor, ...]:
        """Upsample ``(S_g, S_5, S_4, S_3)`` to the input size as SALI does.

        Bilinear, ``align_corners=False``, by scale factors 8, 32, 16, 8
        (exactly the input size when it is a multiple of 32).

        Args:
            preds (Sequence[Tensor]): The four maps of :meth:`forward`.

        Returns:
            tuple[Tensor]: Four (N, 1, H_in, W_in) logit maps.
        """
        if len(preds) != len(PREDICTION_SCALES):
            raise ValueError(f'expected {len(PREDICTION_SCALES)} maps, got '
                             f'{len(preds)}')
        return tuple(
            _resize(p, s) for p, s in zip(preds, PREDICTION_SCALES))
