"""Cross pseudo supervision: the reference model of kaylode/ivos."""
import copy
import math
from contextlib import nullcontext
from typing import Dict, List, Optional, Sequence

import torch
from mmengine.config import ConfigDict
from mmengine.logging import MessageHub
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmseg.models.segmentors import BaseSegmentor
from mmseg.models.utils import resize
from mmseg.structures import SegDataSample
from torch import Tensor, nn

from mmvidseg.registry import MODELS

from ..decode_heads.slice_position_head import SlicePositionHead

BRANCHES = ('segmentor1', 'segmentor2')
DEFAULT_SUP_LOSS = (
    dict(type='CrossEntropyLoss', avg_non_ignore=True, loss_weight=1.0),
    dict(type='LovaszLoss', loss_type='multi_class', classes='present',
         per_image=True, reduction='mean', loss_weight=1.0))
DEFAULT_UNSUP_LOSS = dict(type='LovaszLoss', loss_type='multi_class',
                          classes='present', per_image=True,
                          reduction='mean', loss_weight=1.0)


def sigmoid_rampup(current: float, length: float) -> float:
    """``exp(-5 (1 - clip(current, 0, length) / length)^2)``; 1 if
    ``length`` is 0 (Laine & Aila, as ivos ``utils/ramps.py``)."""
    if length == 0:
        return 1.0
    phase = 1.0 - min(max(float(current), 0.0), length) / length
    return math.exp(-5.0 * phase * phase)


def _unwrapped_branch_keys(module: nn.Module, state_dict: dict, prefix: str,
                           local_metadata: dict) -> None:
    """State-dict post hook: ``segmentor1.module.x`` -> ``segmentor1.x``
    for branches inside a DDP wrapper."""
    wrapped = [f'{prefix}{name}.' for name in BRANCHES
               if is_model_wrapper(getattr(module, name))]
    if not wrapped:
        return
    items = list(state_dict.items())
    state_dict.clear()
    for key, value in items:
        for head in wrapped:
            if key.startswith(head + 'module.'):
                key = head + key[len(head) + len('module.'):]
        state_dict[key] = value


@MODELS.register_module()
class CPSSegmentor(BaseSegmentor):
    """Two segmenters trained with cross pseudo supervision (CPS).

    kaylode/ivos ``source/cps`` (``models/cps.py``, ``losses/cps_loss.py``,
    ``trainer/ss_trainer.py``). A batch holds labelled and unlabelled
    slices (metainfo ``labelled``). Both branches segment the whole batch
    (logits resized to the input size); for branch ``k`` (``j`` the other):

    * ``L_sup,k`` = the sum of ``sup_loss`` (CE + Lovasz-Softmax) on the
      labelled slices;
    * ``L_cps,k`` = ``unsup_loss`` (Lovasz-Softmax) of the unlabelled
      outputs of ``k`` against the pseudo-labels ``argmax softmax`` of
      ``j`` (detached). The original passes the *softmax* of the outputs
      to theseus' ``LovaszSoftmax``, which applies softmax again (checked
      against theseus v1.0.1): ``unsup_input='probs'`` (default) reproduces
      that double softmax, ``'logits'`` is the single-softmax fix;
    * ``lambda = consistency * exp(-5 (1 - clip(e, 0, R) / R)^2)`` with
      ``e = iter // epoch_length`` and ``R = ramp_length`` (200) for
      ``ramp_by='epoch'`` (the original: "epoch" = ``#labelled slices //
      2``, so with thousands of labelled slices ``lambda`` stays near
      ``0.1 e^-5`` for the whole run), or ``e = iter`` for
      ``ramp_by='iter'`` (``ramp_length`` in iterations).

    Each branch minimises ``L_sup,k + lambda L_cps,k`` with its own
    optimiser (``OptimWrapperDict`` keys ``segmentor1``/``segmentor2``).
    The original makes one backward of the sum; as the pseudo-labels are
    detached the gradient of each branch is the same (the AMP scaler is
    per optimiser here, shared there).

    Prediction (``test_cfg.mode='ensemble'``): ``softmax(softmax(o1) +
    softmax(o2))`` (``reduction='sum'`` then ``get_prediction``), arg-max;
    ``'branch1'``/``'branch2'``: ``softmax`` of one branch. ``seg_logits``
    holds these probabilities at the original size.

    Args:
        segmentor1, segmentor2 (dict): mmseg segmentor configs (e.g.
            ``EncoderDecoder``); their ``data_preprocessor`` is replaced by
            None (this model's preprocessor runs once). CPS trains their
            decode heads only (no auxiliary heads, as the original).
        slice_position (tuple[bool]): Which branch's decode head gets the
            slice position channel: its head is wrapped in
            :class:`SlicePositionHead` unless it already is one.
        sup_loss (Sequence[dict]): Supervised loss configs, summed.
        unsup_loss (dict): The consistency loss config.
        unsup_input (str): 'probs' (original) or 'logits'.
        consistency (float): Final consistency weight (0.1).
        ramp_by (str): 'epoch' (original) or 'iter'.
        ramp_length (float): Ramp length in epochs or iterations (200).
        epoch_length (int, optional): Iterations per "epoch" for
            ``ramp_by='epoch'``; None: set by :class:`CPSEpochLengthHook`.
        ignore_index (int): Label ignored by the losses. Defaults to 255.
        data_preprocessor (dict, optional): e.g. ``SegDataPreProcessor``.
        train_cfg (dict, optional): Unused.
        test_cfg (dict, optional): ``mode`` ('ensemble', 'branch1',
            'branch2').
        init_cfg (dict, optional): Initialisation config.
    """

    def __init__(self,
                 segmentor1: dict,
                 segmentor2: dict,
                 slice_position: Sequence[bool] = (True, False),
                 sup_loss: Sequence[dict] = DEFAULT_SUP_LOSS,
                 unsup_loss: dict = DEFAULT_UNSUP_LOSS,
                 unsup_input: str = 'probs',
                 consistency: float = 0.1,
                 ramp_by: str = 'epoch',
                 ramp_length: float = 200.0,
                 epoch_length: Optional[int] = None,
                 ignore_index: int = 255,
                 data_preprocessor: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(
            data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if len(slice_position) != 2:
            raise ValueError(f'CPSSegmentor: slice_position needs one flag '
                             f'per branch, got {slice_position}')
        if unsup_input not in ('probs', 'logits'):
            raise ValueError(f"CPSSegmentor: unsup_input must be 'probs' or "
                             f"'logits', got {unsup_input!r}")
        if ramp_by not in ('epoch', 'iter'):
            raise ValueError(f"CPSSegmentor: ramp_by must be 'epoch' or "
                             f"'iter', got {ramp_by!r}")
        if epoch_length is not None and epoch_length < 1:
            raise ValueError(f'CPSSegmentor: epoch_length must be >= 1, '
                             f'got {epoch_length}')
        for name, cfg, pos in zip(BRANCHES, (segmentor1, segmentor2),
                                  slice_position):
            setattr(self, name, MODELS.build(self._branch_cfg(name, cfg,
                                                              pos)))
        heads = [self._branch(k).decode_head for k in range(2)]
        if heads[0].num_classes != heads[1].num_classes:
            raise ValueError(
                f'CPSSegmentor: the branches predict {heads[0].num_classes} '
                f'and {heads[1].num_classes} classes')
        self.num_classes = heads[0].num_classes
        self.out_channels = heads[0].out_channels
        self.align_corners = heads[0].align_corners
        self.sup_losses = nn.ModuleList(MODELS.build(c) for c in sup_loss)
        self.unsup_loss = MODELS.build(unsup_loss)
        self.unsup_input = unsup_input
        self.consistency = consistency
        self.ramp_by = ramp_by
        self.ramp_length = float(ramp_length)
        self.epoch_length = epoch_length
        self.ignore_index = ignore_index
        self.train_cfg = train_cfg
        self.test_cfg = {'mode': 'ensemble', **(test_cfg or {})}
        self._check_mode(self.test_cfg['mode'])
        # MMSeparateDistributedDataParallel wraps each branch: keep the
        # checkpoint keys of an unwrapped model (mmengine loads those into
        # wrapped branches too)
        self.register_state_dict_post_hook(_unwrapped_branch_keys)

    @staticmethod
    def _branch_cfg(name: str, cfg: dict, position: bool) -> dict:
        cfg = copy.deepcopy(dict(cfg))
        cfg['data_preprocessor'] = None
        cfg['test_cfg'] = ConfigDict(cfg.get('test_cfg') or dict(mode='whole'))
        head = cfg.get('decode_head')
        if head is None:
            raise KeyError(f'CPSSegmentor: {name} has no decode_head')
        wrapped = head.get('type') == 'SlicePositionHead'
        if position and not wrapped:
            cfg['decode_head'] = dict(type='SlicePositionHead', head=head)
        elif wrapped and not position:
            raise ValueError(f'CPSSegmentor: {name} has a SlicePositionHead '
                             f'but slice_position is False for it')
        return cfg

    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in ('ensemble', 'branch1', 'branch2'):
            raise ValueError(f"CPSSegmentor: test_cfg.mode must be "
                             f"'ensemble', 'branch1' or 'branch2', got "
                             f"{mode!r}")

    def _branch(self, k: int) -> nn.Module:
        """Branch ``k`` (0 or 1), unwrapped from a DDP wrapper."""
        seg = getattr(self, BRANCHES[k])
        return seg.module if is_model_wrapper(seg) else seg

    # ---------------------------------------------------------- ramp
    def set_epoch_length(self, epoch_length: int) -> None:
        """Iterations per "epoch" of the ramp (see the class doc)."""
        if epoch_length < 1:
            raise ValueError(f'CPSSegmentor: epoch_length must be >= 1, '
                             f'got {epoch_length}')
        self.epoch_length = int(epoch_length)

    def consistency_weight(self, iteration: int) -> float:
        """``lambda`` after ``iteration`` completed iterations."""
        if self.ramp_by == 'iter':
            current = iteration
        else:
            if self.epoch_length is None:
                raise ValueError(
                    "CPSSegmentor: ramp_by='epoch' needs epoch_length "
                    "(model.epoch_length or custom_hooks "
                    "[dict(type='CPSEpochLengthHook')])")
            current = iteration // self.epoch_length
        return self.consistency * sigmoid_rampup(current, self.ramp_length)

    # ------------------------------------------------------- forward
    def branch_logits(self, k: int, inputs: Tensor,
                      data_samples: Optional[List[SegDataSample]]) -> Tensor:
        """Training-path logits of branch ``k`` at the input size.

        Calls the (possibly DDP-wrapped) branch in tensor mode, so gradient
        synchronisation works under ``MMSeparateDistributedDataParallel``.
        """
        head = self._branch(k).decode_head
        ctx = nullcontext()
        if isinstance(head, SlicePositionHead):
            metas = [s.metainfo for s in data_samples or []]
            if len(metas) != inputs.size(0):
                raise ValueError('CPSSegmentor: branch with a slice position '
                                 'needs one data sample per input')
            ctx = head.slice_positions(metas)
        with ctx:
            logits = getattr(self, BRANCHES[k])(inputs, data_samples,
                                                mode='tensor')
        return resize(logits, size=inputs.shape[2:], mode='bilinear',
                      align_corners=head.align_corners)

    def extract_feat(self, inputs: Tensor) -> List[List[Tensor]]:
        """Features of both branches."""
        return [self._branch(k).extract_feat(inputs) for k in range(2)]

    def branch_probs(self, k: int, inputs: Tensor,
                     batch_img_metas: List[dict]) -> Tensor:
        """Softmax (N, K, H, W) of branch ``k`` (its test_cfg mode)."""
        return self._branch(k).inference(inputs, batch_img_metas).softmax(1)

    def encode_decode(self, inputs: Tensor,
                      batch_img_metas: List[dict]) -> Tensor:
        """Probabilities (N, K, H, W) of ``test_cfg.mode``."""
        mode = self.test_cfg['mode']
        self._check_mode(mode)
        if mode != 'ensemble':
            return self.branch_probs(int(mode[-1]) - 1, inputs,
                                     batch_img_metas)
        probs = (self.branch_probs(0, inputs, batch_img_metas) +
                 self.branch_probs(1, inputs, batch_img_metas))
        return probs.softmax(1)

    def _forward(self,
                 inputs: Tensor,
                 data_samples: Optional[List[SegDataSample]] = None
                 ) -> Tensor:
        """Probabilities (N, K, H, W) of ``test_cfg.mode`` (tensor mode)."""
        return self.encode_decode(inputs, self._metas(inputs, data_samples))

    @staticmethod
    def _metas(inputs: Tensor,
               data_samples: Optional[List[SegDataSample]]) -> List[dict]:
        if data_samples:
            return [s.metainfo for s in data_samples]
        shape = tuple(inputs.shape[2:])
        return [dict(ori_shape=shape, img_shape=shape, pad_shape=shape,
                     padding_size=[0, 0, 0, 0])] * inputs.size(0)

    def predict(self,
                inputs: Tensor,
                data_samples: Optional[List[SegDataSample]] = None
                ) -> List[SegDataSample]:
        """``seg_logits`` (the probabilities) and ``pred_sem_seg`` of each
        sample at its original size."""
        probs = self.encode_decode(inputs, self._metas(inputs, data_samples))
        return self.postprocess_result(probs, data_samples)

    def predict_branch(self,
                       k: int,
                       inputs: Tensor,
                       data_samples: Optional[List[SegDataSample]] = None
                       ) -> List[SegDataSample]:
        """As :meth:`predict` with branch ``k`` (1 or 2) alone."""
        if k not in (1, 2):
            raise ValueError(f'CPSSegmentor: branch must be 1 or 2, got {k}')
        probs = self.branch_probs(k - 1, inputs,
                                  self._metas(inputs, data_samples))
        return self.postprocess_result(probs, data_samples)

    # ---------------------------------------------------------- losses
    def _labelled(self, data_samples: List[SegDataSample],
                  device: torch.device) -> Tensor:
        try:
            flags = [bool(s.metainfo['labelled']) for s in data_samples]
        except KeyError:
            raise KeyError("CPSSegmentor: sample metainfo lacks 'labelled' "
                           '(add it to the meta_keys of PackSegInputs)'
                           ) from None
        return torch.tensor(flags, dtype=torch.bool, device=device)

    def _sup(self, logits: Tensor, labels: Tensor,
             k: int) -> Dict[str, Tensor]:
        parts = {}
        for loss in self.sup_losses:
            name = loss.loss_name.replace('loss_', '', 1) + str(k + 1)
            if logits.size(0) == 0:
                parts[name] = logits.sum() * 0
            else:
                parts[name] = loss(logits, labels,
                                   ignore_index=self.ignore_index)
        return parts

    def _cps(self, logits: Tensor, pseudo: Tensor) -> Tensor:
        if logits.size(0) == 0:
            return logits.sum() * 0
        if self.unsup_input == 'probs':
            logits = logits.softmax(1)
        return self.unsup_loss(logits, pseudo, ignore_index=self.ignore_index)

    def _losses(self, inputs: Tensor, data_samples: List[SegDataSample],
                weight: float, contexts: Sequence) -> List[Dict[str, Tensor]]:
        """Loss dict of each branch (``loss_sup{k}``, the weighted
        ``loss_cps{k}``; unweighted parts without ``loss`` in the name)."""
        lab = self._labelled(data_samples, inputs.device)
        logits = []
        for k in range(2):
            with contexts[k]():
                logits.append(self.branch_logits(k, inputs, data_samples))
        pseudo = [o[~lab].detach().float().softmax(1).argmax(1)
                  for o in logits]
        labels = [s.gt_sem_seg.data[0] for s, f in zip(data_samples, lab)
                  if f]
        labels = (torch.stack(labels).long() if labels else
                  inputs.new_zeros((0, ) + inputs.shape[2:], dtype=torch.long))
        out = []
        for k in range(2):
            with contexts[k]():
                parts = self._sup(logits[k][lab], labels, k)
                cps = self._cps(logits[k][~lab], pseudo[1 - k])
            losses = {f'loss_sup{k + 1}': sum(parts.values()),
                      f'loss_cps{k + 1}': weight * cps,
                      f'cps{k + 1}': cps.detach()}
            losses.update({n: v.detach() for n, v in parts.items()})
            out.append(losses)
        return out

    def _iteration(self) -> int:
        return int(MessageHub.get_current_instance().get_info('iter', 0))

    def loss(self, inputs: Tensor,
             data_samples: List[SegDataSample]) -> Dict[str, Tensor]:
        """Both branches' losses at the current iteration's weight (summing
        the ``loss*`` items gives the sum of both objectives)."""
        weight = self.consistency_weight(self._iteration())
        losses = self._losses(inputs, data_samples, weight,
                              (nullcontext, nullcontext))
        return {**losses[0], **losses[1]}

    def train_step(self, data: dict,
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One CPS step: each branch's objective stepped by its own optim
        wrapper (AMP, gradient clipping, accumulation as configured)."""
        if not isinstance(optim_wrapper, OptimWrapperDict) or set(
                optim_wrapper.keys()) != set(BRANCHES):
            raise TypeError(
                'CPSSegmentor.train_step needs an OptimWrapperDict with keys '
                f'{BRANCHES} (optim_wrapper config with one wrapper per '
                "branch and constructor='MultiOptimWrapperConstructor')")
        wrappers = [optim_wrapper[name] for name in BRANCHES]
        contexts = [
            lambda w=w, n=n: w.optim_context(getattr(self, n))
            for w, n in zip(wrappers, BRANCHES)
        ]
        weight = self.consistency_weight(self._iteration())
        data = self.data_preprocessor(data, True)
        losses = self._losses(data['inputs'], data['data_samples'], weight,
                              contexts)
        log_vars = {}
        total = 0.
        for wrapper, branch_losses in zip(wrappers, losses):
            loss, branch_log = self.parse_losses(branch_losses)
            wrapper.update_params(loss)
            total = total + branch_log.pop('loss').detach()
            log_vars.update({n: v.detach() for n, v in branch_log.items()})
        return dict(loss=total, **log_vars, cps_weight=torch.tensor(weight))
