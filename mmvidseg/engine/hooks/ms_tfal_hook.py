"""MS-TFAL's multi-scale supervision schedule as a stage hook."""
import copy
import re
from collections import defaultdict
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from tqdm import tqdm

from mmvidseg.registry import HOOKS

from ..runner.streaming import unwrap
from .stage_schedule_hook import StageScheduleHook

#: ``train_MS_TFAL.py``'s rank weights of the 15 EndoVis18 videos, least
#: reliable first.
ENDOVIS18_RANK_WEIGHTS = (0.4, 0.4, 0.4, 0.4, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                          1.0, 1.0, 1.0, 1.0, 1.0)


@HOOKS.register_module()
class MSTFALHook(StageScheduleHook):
    """Stages, video reliability and the correction model of MS-TFAL.

    The original (1-based epochs ``e``) trains stage 1 while ``e < T1``,
    stage 2 while ``e < T2``, stage 3 while ``e < T3`` and stage 4 after
    (EndoVis18: ``T = (4, 6, 8)``: stages from epochs 1, 4, 6, 8). With
    mmengine's 0-based epochs the stages begin at ``0, T1 - 1, T2 - 1,
    T3 - 1`` (``model.set_stage``: ``'plain'``, ``'video'``, ``'image'``,
    ``'pixel'``).

    At the start of every epoch of stages 2-4, the model (in eval mode)
    runs over ``reliability_dataloader`` (every training frame with its
    previous frame: ``ShiftedClipPolicy(clip_len=1)``, noisy labels); per
    video the frame means ``a_p``, ``a_n`` of TFAL are averaged, videos are
    ranked by ``mean(a_p + 1 - a_n)`` (least reliable first) and get
    ``rank_weights`` in that order; ``p_thr`` = mean over videos of the mean
    ``a_p``, ``n_thr`` = mean of ``1 - mean a_n``; ``U`` = the
    ``num_uncertain`` least reliable videos (``model.set_reliability``).

    Stage 4 corrects labels with the best model so far (validation metric
    ``best_metric``, kept in memory and in checkpoints): ``correction=
    'copy'`` (default) predicts with a frozen copy holding the best weights
    (what the original does with two GPUs); ``'alias'`` reproduces the
    original on one GPU, where the "prediction model" is the training model
    itself: at each stage-4 epoch the best weights are loaded into the
    training model, which then trains in eval mode (the original calls
    ``model_pred.eval()`` on the same object) and predicts its own
    corrections.

    Args:
        stage_epochs (Sequence[int]): ``(T1, T2, T3)`` in the original's
            1-based epochs.
        reliability_dataloader (dict): Dataloader config of frame pairs.
        rank_weights (Sequence[float]): One weight per training video.
        num_uncertain (int): Size of ``U``.
        best_metric (str): Validation metric of the correction model (the
            original keeps the best IoU).
        correction (str): ``'copy'`` or ``'alias'``.
    """

    def __init__(self,
                 stage_epochs: Sequence[int] = (4, 6, 8),
                 reliability_dataloader: Optional[dict] = None,
                 rank_weights: Sequence[float] = ENDOVIS18_RANK_WEIGHTS,
                 num_uncertain: int = 3,
                 best_metric: str = 'IoU',
                 correction: str = 'copy') -> None:
        t1, t2, t3 = (int(t) for t in stage_epochs)
        if not 1 <= t1 < t2 < t3:
            raise ValueError('stage_epochs must be 1 <= T1 < T2 < T3, got '
                             f'{tuple(stage_epochs)}')
        if correction not in ('copy', 'alias'):
            raise ValueError("correction must be 'copy' or 'alias', got "
                             f'{correction!r}')
        if reliability_dataloader is None:
            raise ValueError('MSTFALHook needs reliability_dataloader (the '
                             'training frames with their previous frames)')
        if not 0 <= num_uncertain <= len(rank_weights):
            raise ValueError('num_uncertain must be within the number of '
                             'rank weights')
        stages = [(0, 'plain'), (t1 - 1, 'video'), (t2 - 1, 'image'),
                  (t3 - 1, 'pixel')]
        if t1 == 1:  # stage 2 from the start
            stages = stages[1:]
        super().__init__([dict(begin=b, stage=s) for b, s in stages],
                         by_epoch=True)
        self.reliability_dataloader = reliability_dataloader
        self.rank_weights = [float(w) for w in rank_weights]
        self.num_uncertain = int(num_uncertain)
        self.best_metric = best_metric
        self.correction = correction
        self.best_score: Optional[float] = None
        self.best_state: Optional[Dict[str, torch.Tensor]] = None
        self._loader = None

    # ------------------------------------------------------------- hooks
    def before_train_epoch(self, runner) -> None:
        super().before_train_epoch(runner)
        model = unwrap(runner.model)
        if model.stage != 'plain':
            self.update_reliability(runner, model)
        if model.stage == 'pixel':
            self._prepare_correction(runner, model)
        else:
            model.set_correction_model(None)

    def after_val_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if not metrics:
            return
        key = next((k for k in metrics if k == self.best_metric
                    or k.split('/')[-1] == self.best_metric), None)
        if key is None:
            raise KeyError(f'MSTFALHook: best_metric {self.best_metric!r} '
                           f'not among the validation metrics '
                           f'{sorted(metrics)}')
        score = float(metrics[key])
        if self.best_score is None or score > self.best_score:
            self.best_score = score
            self.best_state = {
                k: v.detach().cpu().clone()
                for k, v in unwrap(runner.model).state_dict().items()
            }

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['ms_tfal'] = dict(best_score=self.best_score,
                                     best_state=self.best_state)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        saved = checkpoint.get('ms_tfal') or {}
        self.best_score = saved.get('best_score')
        self.best_state = saved.get('best_state')

    # ---------------------------------------------------------- the parts
    @torch.no_grad()
    def update_reliability(self, runner, model) -> dict:
        """Rank the videos (see the class doc) and hand the result to the
        model. Returns the ranking for logging and visualisation."""
        if self._loader is None:
            self._loader = runner.build_dataloader(
                self.reliability_dataloader)
        sums = accumulate_video_affinity(model, self._loader,
                                         progress=_is_main(runner))
        ranking = rank_videos(_gather(sums), self.rank_weights,
                              self.num_uncertain)
        videos, weights = ranking['videos'], ranking['weights']
        uncertain = ranking['uncertain']
        model.set_reliability(weights, ranking['p_thr'], ranking['n_thr'],
                              uncertain)
        runner.logger.info(
            'MS-TFAL reliability (least reliable first): ' + ', '.join(
                f'{v}={ranking["reliability"][v]:.4f}'
                for v in ranking['order']) +
            f'; p_thr={ranking["p_thr"]:.4f}, n_thr={ranking["n_thr"]:.4f}, '
            f'U={uncertain}')
        return dict(videos=videos, weights=weights, uncertain=uncertain,
                    p_thr=ranking['p_thr'], n_thr=ranking['n_thr'])

    def _prepare_correction(self, runner, model) -> None:
        state = self.best_state
        if state is None:
            runner.logger.warning(
                'MSTFALHook: no validation result yet; stage 4 corrects '
                'labels with the current weights')
            state = model.state_dict()
        if self.correction == 'alias':
            model.load_state_dict(state)
            model.set_correction_model(model, freeze_norms=True)
            return
        model.set_correction_model(None)
        frozen = copy.deepcopy(model)
        frozen.load_state_dict(state)
        frozen.eval().requires_grad_(False)
        model.set_correction_model(frozen)


@torch.no_grad()
def accumulate_video_affinity(model, dataloader,
                              progress: bool = True) -> Dict[str, list]:
    """Per-video sums of TFAL's frame values over a frame-pair loader.

    Runs ``model`` (an :class:`MSTFALSegmentor`, in eval mode; its mode is
    restored afterwards) on every batch of ``dataloader`` (clips of a frame
    and its previous frame, ``gt_clip_seg`` (2, H, W) noisy labels) and
    adds each frame's ``pos_mean`` / ``neg_mean`` (:func:`tfal_affinity`,
    labels nearest-downsampled to the embedding) to its video.

    Args:
        model (nn.Module): The segmentor (``frame_forward``,
            ``data_preprocessor``, ``num_classes``).
        dataloader (Iterable): Batches of the reliability dataloader.
        progress (bool): Show a progress bar. Defaults to True.

    Returns:
        dict: ``video_id -> [sum pos_mean, sum neg_mean, frames]`` of this
        process (gather across ranks with :func:`_gather`).
    """
    from mmvidseg.models.utils import tfal_affinity
    sums: Dict[str, list] = defaultdict(lambda: [0.0, 0.0, 0])
    was_training = model.training
    model.eval()
    try:
        for batch in tqdm(dataloader, desc='MS-TFAL video reliability',
                          disable=not progress, leave=False):
            data = model.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            _, emb = model.frame_forward(inputs[:, 0])
            _, emb_prev = model.frame_forward(inputs[:, 1])
            labels = torch.stack([s.gt_clip_seg.data for s in samples])
            small = F.interpolate(labels.float(), size=emb.shape[-2:],
                                  mode='nearest').long()
            aff = tfal_affinity(emb, emb_prev, small[:, 0], small[:, 1],
                                model.num_classes)
            for s, p, n in zip(samples, aff.pos_mean, aff.neg_mean):
                acc = sums[str(s.metainfo['video_id'])]
                acc[0] += float(p)
                acc[1] += float(n)
                acc[2] += 1
    finally:
        model.train(was_training)
    return dict(sums)


def rank_videos(sums: Dict[str, list], rank_weights: Sequence[float],
                num_uncertain: int) -> dict:
    """MS-TFAL's video ranking from per-video sums.

    Videos are taken in natural order of their ids (the dataset's order,
    ``seq_1, seq_2, ..., seq_10``: ties resolve as the original's fixed
    video array) and passed to :func:`video_reliability`.

    Args:
        sums (dict): ``video_id -> [sum pos_mean, sum neg_mean, frames]``
            (:func:`accumulate_video_affinity`).
        rank_weights (Sequence[float]): One weight per video, least
            reliable first.
        num_uncertain (int): Size of ``U``.

    Returns:
        dict: ``videos`` (natural order), ``order`` (least reliable
        first), ``weights``, ``reliability`` (``q``), ``pos`` (mean
        ``a_p``), ``neg`` (``1 - mean a_n``), ``frames`` (dicts by video),
        ``uncertain`` (list), ``p_thr``, ``n_thr`` (floats).

    Raises:
        ValueError: The number of videos differs from ``rank_weights``.
    """
    from mmvidseg.models.utils import video_reliability
    videos = sorted(sums, key=_natural)
    if len(videos) != len(rank_weights):
        raise ValueError(
            f'MSTFALHook: {len(videos)} training videos but '
            f'{len(rank_weights)} rank_weights')
    pos, neg, count = (torch.tensor([float(sums[v][i]) for v in videos],
                                    dtype=torch.float64) for i in range(3))
    result = video_reliability(pos, neg, count, rank_weights, num_uncertain)
    order = [videos[int(i)] for i in
             torch.argsort(result.reliability, stable=True)]
    return dict(
        videos=videos,
        order=order,
        weights=dict(zip(videos, (float(w) for w in result.weights))),
        reliability=dict(zip(videos, result.reliability.tolist())),
        pos=dict(zip(videos, (pos / count).tolist())),
        neg=dict(zip(videos, ((count - neg) / count).tolist())),
        frames=dict(zip(videos, (int(c) for c in count))),
        uncertain=[videos[int(i)] for i in result.uncertain],
        p_thr=float(result.p_thr),
        n_thr=float(result.n_thr))


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


def _is_main(runner) -> bool:
    return getattr(runner, 'rank', 0) == 0


def _gather(sums: Dict[str, list]) -> Dict[str, list]:
    """Per-video sums of every rank (the reliability loader is sharded)."""
    from mmengine.dist import all_gather_object, get_world_size
    if get_world_size() == 1:
        return dict(sums)
    merged: Dict[str, list] = defaultdict(lambda: [0.0, 0.0, 0])
    for part in all_gather_object(dict(sums)):
        for k, (p, n, c) in part.items():
            merged[k][0] += p
            merged[k][1] += n
            merged[k][2] += c
    return dict(merged)
