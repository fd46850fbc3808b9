"""Soft aggregation of per-object probabilities (STM / STCN)."""
import torch
from torch import Tensor

#: Probabilities are clamped to ``[EPS, 1 - EPS]`` before the log-odds.
EPS = 1e-7


def soft_aggregate_logits(prob: Tensor, dim: int = 0) -> Tensor:
    """Log-odds of ``[background, objects]`` from per-object probabilities.

    With ``p_i`` the independent probability of object ``i`` (sigmoid of its
    decoder logit), the background is ``p_bg = prod_i (1 - p_i)``; every
    probability of ``[p_bg, p_1, ..., p_O]`` is clamped to ``[1e-7, 1 -
    1e-7]`` and turned into its log-odds ``log(p / (1 - p))``. A softmax over
    ``dim`` of these logits (:func:`soft_aggregate`) gives the aggregated
    probabilities; training losses take the logits. Computed in float32:
    in float16 ``1 - 1e-7`` rounds to 1 and the log-odds become infinite
    (the original under AMP).

    Args:
        prob (Tensor): Object probabilities with the objects along ``dim``,
            e.g. (O, H, W) or (N, O, H, W).
        dim (int): The object dimension.

    Returns:
        Tensor: Logits with ``O + 1`` entries along ``dim``, background
        first.
    """
    prob = prob.float()
    bg = torch.prod(1 - prob, dim=dim, keepdim=True)
    full = torch.cat([bg, prob], dim).clamp(EPS, 1 - EPS)
    return torch.log(full / (1 - full))


def soft_aggregate(prob: Tensor, dim: int = 0,
                   keep_bg: bool = True) -> Tensor:
    """Aggregated probabilities ``softmax(soft_aggregate_logits(prob))``.

    Args:
        prob (Tensor): Object probabilities (objects along ``dim``).
        dim (int): The object dimension.
        keep_bg (bool): Return the background entry too (first).

    Returns:
        Tensor: ``O + 1`` (or ``O`` without ``keep_bg``) probabilities along
        ``dim`` that sum to 1 with the background.
    """
    out = soft_aggregate_logits(prob, dim).softmax(dim)
    return out if keep_bg else out.narrow(dim, 1, out.size(dim) - 1)
