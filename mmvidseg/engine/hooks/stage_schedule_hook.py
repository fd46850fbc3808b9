"""Stage schedules: clip-policy curricula, training stages, loss weights."""
import copy
import itertools
from typing import Any, Dict, Iterator, List, Optional, Sequence

from mmengine.dataset import InfiniteSampler
from mmengine.hooks import Hook
from torch import nn

from mmvidseg.registry import HOOKS

from ...datasets.transforms.sample_clip import SampleClip
from ..runner.streaming import unwrap


def find_sample_clips(dataset) -> List[SampleClip]:
    """Every :class:`SampleClip` in the pipeline(s) of a dataset.

    Dataset wrappers (``ConcatDataset.datasets``, ``RepeatDataset.dataset``,
    ``ClassBalancedDataset.dataset``, ...) and nested transforms (anything
    with a ``transforms`` attribute, e.g. ``Compose``, ``RandomChoice``,
    ``ClipTransformBroadcaster``) are searched.
    """
    found: List[SampleClip] = []
    seen = set()

    def walk_transform(obj) -> None:
        if obj is None or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, SampleClip):
            found.append(obj)
        subs = getattr(obj, 'transforms', None)
        if isinstance(subs, (list, tuple)):
            for sub in subs:
                walk_transform(sub)
        elif subs is not None:
            walk_transform(subs)

    def walk_dataset(ds) -> None:
        if ds is None or id(ds) in seen:
            return
        seen.add(id(ds))
        walk_transform(getattr(ds, 'pipeline', None))
        for child in getattr(ds, 'datasets', None) or []:
            walk_dataset(child)
        walk_dataset(getattr(ds, 'dataset', None))

    walk_dataset(dataset)
    return found


class _SkipAhead:
    """Yield ``skip`` placeholders, then the items of ``iterator``.

    After a resume, :class:`IterBasedTrainLoop` advances the data iterator by
    the resumed iteration count. The data stream of a stage starts afresh at
    the stage's first iteration, so the batches before it need not be loaded.
    """

    def __init__(self, skip: int, iterator: Iterator) -> None:
        self.iterator = iterator
        self._items = itertools.chain(itertools.repeat(None, skip), iterator)

    def __iter__(self) -> '_SkipAhead':
        return self

    def __next__(self) -> Any:
        return next(self._items)


def _shutdown(iterator) -> None:
    """Stop the workers of a DataLoader iterator (if it has any)."""
    iterator = getattr(iterator, 'iterator', iterator)  # a _SkipAhead
    stop = getattr(iterator, '_shutdown_workers', None)
    if stop is not None:
        stop()


@HOOKS.register_module()
class StageScheduleHook(Hook):
    """Switch training stages at given epochs or iterations.

    The one base for clip-sampling curricula (SALI / STCN ``max_skip``
    5 -> 10 -> 15), MS-TFAL's training stages and loss-weight schedules::

        custom_hooks = [dict(
            type='StageScheduleHook', by_epoch=False, schedule=[
                dict(begin=0, clip_policy=dict(max_skip=5)),
                dict(begin=2000, clip_policy=dict(max_skip=10),
                     loss_weights={'decode_head.loss_decode': 0.5},
                     stage='tfal'),
            ])]

    A stage holds from its ``begin`` (0-based epoch, or iteration, index) to
    the next stage's. Actions of a stage:

    - ``clip_policy`` (dict): parameters passed to ``policy.update`` of every
      :class:`SampleClip` in the train dataset's pipeline (dataset wrappers
      included); an unknown parameter raises the policy's ``KeyError``.
    - ``loss_weights`` (dict): ``{dotted module path: weight}`` on the
      unwrapped model; sets ``loss_weight`` of that loss module, or of each
      loss in a ``ModuleList``.
    - ``stage`` (str): calls ``model.set_stage(stage)``.

    Every action is checked before the first step, so a bad later stage
    fails at once. Dataset-side changes reach the dataloader workers
    (also persistent ones): the old workers are shut down and the train
    dataloader iterator is re-created from the updated dataset, before the
    stage's first batch is loaded (epoch loops: in ``before_train_epoch``;
    :class:`IterBasedTrainLoop`: after the previous iteration, replacing the
    inner iterator of its infinite iterator). The data stream of such a stage
    therefore starts afresh: workers are seeded as at the start of training
    and, in iteration loops, the sampler's order restarts. After ``--resume``
    the stages up to the resumed epoch or iteration are applied in
    ``before_train``, which runs after the checkpoint is loaded; for iteration
    loops, the resumed loop's skipping of already trained batches then loads
    only the batches of the current stage, so a resumed run sees the same
    batches as an uninterrupted one.

    Subclasses add actions by declaring them in :attr:`ACTIONS` and handling
    them in :meth:`apply_action` (optionally checking them in
    :meth:`check_action`)::

        class NoiseScheduleHook(StageScheduleHook):
            ACTIONS = dict(StageScheduleHook.ACTIONS, noise_rate=True)

            def apply_action(self, runner, name, value):
                if name != 'noise_rate':
                    return super().apply_action(runner, name, value)
                runner.train_loop.dataloader.dataset.noise_rate = value

    Args:
        schedule (Sequence[dict]): Stages, each ``dict(begin=int, **actions)``
            with strictly increasing ``begin``.
        by_epoch (bool): ``begin`` counts epochs (True, needs an epoch-based
            loop) or iterations (False). Defaults to True.
    """
    priority = 'NORMAL'
    #: Action name -> whether it changes what the train dataset yields (the
    #: dataloader workers are then re-created).
    ACTIONS: Dict[str, bool] = dict(
        clip_policy=True, loss_weights=False, stage=False)

    def __init__(self,
                 schedule: Sequence[dict],
                 by_epoch: bool = True) -> None:
        name = type(self).__name__
        if not isinstance(schedule, (list, tuple)) or not schedule:
            raise ValueError(f'{name}: schedule must be a non-empty list of '
                             f'dicts, got {schedule!r}')
        self.schedule: List[dict] = []
        last = -1
        for i, stage in enumerate(schedule):
            if not isinstance(stage, dict) or 'begin' not in stage:
                raise ValueError(
                    f'{name}: schedule[{i}] must be a dict with a begin, got '
                    f'{stage!r}')
            unknown = sorted(set(stage) - {'begin'} - set(self.ACTIONS))
            if unknown:
                raise KeyError(
                    f'{name}: schedule[{i}] has unknown key(s) {unknown}; '
                    f"known: ['begin'] + {sorted(self.ACTIONS)}")
            if len(stage) == 1:
                raise ValueError(f'{name}: schedule[{i}] has no action')
            begin = stage['begin']
            if isinstance(begin, bool) or not isinstance(begin, int) \
                    or begin < 0:
                raise ValueError(f'{name}: schedule[{i}].begin must be an '
                                 f'int >= 0, got {begin!r}')
            if begin <= last:
                raise ValueError(
                    f'{name}: begin must increase from stage to stage, but '
                    f'schedule[{i}].begin={begin} follows {last}')
            last = begin
            self.schedule.append(dict(stage))
        self.by_epoch = bool(by_epoch)
        self._next = 0  # index of the first stage not applied yet
        self._workers: Optional[Iterator] = None

    # -- the extension points -------------------------------------------

    def apply_action(self, runner, name: str, value: Any) -> None:
        """Apply one action of a stage; override to add actions."""
        if name == 'clip_policy':
            for policy in self._clip_policies(runner):
                policy.update(**value)
        elif name == 'loss_weights':
            for path, weight in value.items():
                for loss in self._loss_modules(runner, path):
                    loss.loss_weight = weight
        elif name == 'stage':
            self._model_set_stage(runner)(value)
        else:
            raise NotImplementedError(
                f'{type(self).__name__}.apply_action does not handle the '
                f'declared action {name!r}')

    def check_action(self, runner, name: str, value: Any) -> None:
        """Raise if an action cannot be applied (called in before_train)."""
        if name == 'clip_policy':
            if not isinstance(value, dict):
                raise TypeError(f'clip_policy must be a dict of policy '
                                f'parameters, got {value!r}')
            for policy in self._clip_policies(runner):
                copy.deepcopy(policy).update(**value)
        elif name == 'loss_weights':
            if not isinstance(value, dict):
                raise TypeError(f'loss_weights must be a dict {{module path: '
                                f'weight}}, got {value!r}')
            for path, weight in value.items():
                self._loss_modules(runner, path)
                if not isinstance(weight, (int, float)):
                    raise TypeError(f'loss_weights[{path!r}] must be a '
                                    f'number, got {weight!r}')
        elif name == 'stage':
            self._model_set_stage(runner)

    # -- hook points ------------------------------------------------------

    def before_train(self, runner) -> None:
        loop = runner.train_loop
        iter_loop = hasattr(loop, 'dataloader_iterator')
        name = type(self).__name__
        if self.by_epoch and iter_loop:
            raise ValueError(f'{name}: by_epoch=True needs an epoch-based '
                             f'train loop, got {type(loop).__name__}; use '
                             'by_epoch=False')
        if not self.by_epoch and not iter_loop and any(
                self._changes_data(s) for s in self.schedule):
            raise ValueError(
                f'{name}: dataset-side actions with by_epoch=False need an '
                f'IterBasedTrainLoop ({type(loop).__name__} cannot change '
                'its data mid-epoch); use by_epoch=True')
        for i, stage in enumerate(self.schedule):
            for key, value in stage.items():
                if key == 'begin':
                    continue
                try:
                    self.check_action(runner, key, value)
                except Exception:
                    runner.logger.error(
                        f'{name}: schedule[{i}] (begin={stage["begin"]}) '
                        f'has a bad {key}={value!r}')
                    raise
        self._next = 0
        pos = runner.epoch if self.by_epoch else runner.iter
        self._apply_due(runner, pos, resuming=True)

    def before_train_epoch(self, runner) -> None:
        if self.by_epoch:
            self._apply_due(runner, runner.epoch)

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch: Optional[dict] = None,
                         outputs: Optional[dict] = None) -> None:
        # the next iteration's batch is fetched before before_train_iter
        nxt = runner.iter + 1
        if not self.by_epoch and nxt < runner.max_iters:
            self._apply_due(runner, nxt)

    # -- internals --------------------------------------------------------

    def _changes_data(self, stage: dict) -> bool:
        return any(self.ACTIONS[k] for k in stage if k != 'begin')

    def _apply_due(self, runner, pos: int, resuming: bool = False) -> None:
        """Apply the stages with ``begin <= pos`` not applied yet."""
        due = []
        while self._next < len(self.schedule) and \
                self.schedule[self._next]['begin'] <= pos:
            due.append(self.schedule[self._next])
            self._next += 1
        if not due:
            return
        unit = 'epoch' if self.by_epoch else 'iteration'
        for stage in due:
            index = self.schedule.index(stage)
            for key, value in stage.items():
                if key != 'begin':
                    self.apply_action(runner, key, value)
            actions = ', '.join(f'{k}={v!r}' for k, v in stage.items()
                                if k != 'begin')
            when = (f'resumed at {unit} {pos}' if resuming and pos > 0 else
                    f'{unit} {pos}')
            runner.logger.info(
                f'{type(self).__name__}: {when}: stage {index} '
                f"(from {unit} {stage['begin']}): {actions}")
        data_stages = [s['begin'] for s in due if self._changes_data(s)]
        if data_stages:
            self._restart_data(runner, data_stages[-1] if resuming else 0)

    def _restart_data(self, runner, skip: int) -> None:
        """Re-create the train data iterator so workers see the new state.

        Args:
            skip (int): Placeholders to yield first (iteration loops after a
                resume: the loop skips ``runner.iter`` batches, of which the
                ones before the current stage's begin are not loaded).
        """
        loop = runner.train_loop
        dataloader = loop.dataloader
        infinite = getattr(loop, 'dataloader_iterator', None)
        if infinite is not None:
            _shutdown(infinite._iterator)
        if self._workers is not None:
            _shutdown(self._workers)
            self._workers = None
        cached = getattr(dataloader, '_iterator', None)  # persistent workers
        if cached is not None:
            _shutdown(cached)
            dataloader._iterator = None
        for sampler in {dataloader.sampler,
                        getattr(dataloader.batch_sampler, 'sampler', None)}:
            if isinstance(sampler, InfiniteSampler):
                # all its iterators share one index generator, which the
                # old iterator closes when it is released: start a new one
                sampler.indices = sampler._indices_of_rank()
        if infinite is not None:
            self._workers = iter(dataloader)
            infinite._iterator = (_SkipAhead(skip, self._workers)
                                  if skip else self._workers)

    def _clip_policies(self, runner) -> list:
        clips = find_sample_clips(runner.train_loop.dataloader.dataset)
        if not clips:
            raise ValueError('clip_policy is scheduled but the train '
                             "dataset's pipeline has no SampleClip")
        return [clip.policy for clip in clips]

    def _loss_modules(self, runner, path: str) -> List[nn.Module]:
        model = unwrap(runner.model)
        try:
            module = model.get_submodule(path)
        except AttributeError:
            raise KeyError(f'loss_weights: {type(model).__name__} has no '
                           f'module {path!r}') from None
        losses = (list(module) if isinstance(module, nn.ModuleList) else
                  [module])
        for loss in losses:
            if not hasattr(loss, 'loss_weight'):
                raise KeyError(f'loss_weights: {path!r} '
                               f'({type(loss).__name__}) has no loss_weight')
        return losses

    def _model_set_stage(self, runner):
        model = unwrap(runner.model)
        set_stage = getattr(model, 'set_stage', None)
        if not callable(set_stage):
            raise TypeError(f'stage is scheduled but {type(model).__name__} '
                            'has no set_stage(name) method')
        return set_stage
