"""Sampler for streaming evaluation: whole videos per rank, in frame order."""
from typing import Dict, Iterator, List

from mmengine.dist import get_dist_info
from torch.utils.data import Sampler

from mmvidseg.registry import DATA_SAMPLERS


@DATA_SAMPLERS.register_module()
class VideoSequentialSampler(Sampler):
    """Give each rank whole videos and yield their frames in order.

    Videos are assigned greedily to the least loaded rank (by number of
    items), so ranks get similar work; no item is repeated or dropped, which
    means ranks may run different numbers of iterations. Use it with the
    streaming loops (:class:`VideoTestLoop` / :class:`VideoValLoop`), which
    gather metric results without assuming equal counts per rank.

    Args:
        dataset: A dataset with ``video_indices()`` (see
            :class:`BaseVideoDataset`) or items with ``video_id`` and
            ``frame_id``.
    """

    def __init__(self, dataset, seed=None, round_up=None) -> None:
        # ``seed``/``round_up`` are accepted for config compatibility with
        # mmengine's DefaultSampler and ignored: the order is fixed.
        self.dataset = dataset
        self.rank, self.world_size = get_dist_info()
        groups = self._video_groups(dataset)
        loads = [0] * self.world_size
        self.rank_videos: List[List[str]] = [[] for _ in loads]
        for vid in sorted(groups, key=lambda v: (-len(groups[v]), v)):
            r = loads.index(min(loads))
            self.rank_videos[r].append(vid)
            loads[r] += len(groups[vid])
        # keep the dataset's video order within a rank
        order = {v: i for i, v in enumerate(groups)}
        self.indices = [
            i for v in sorted(self.rank_videos[self.rank], key=order.get)
            for i in groups[v]
        ]

    @staticmethod
    def _video_groups(dataset) -> Dict[str, List[int]]:
        if hasattr(dataset, 'video_indices'):
            return dataset.video_indices()
        groups: Dict[str, list] = {}
        for idx in range(len(dataset)):
            info = dataset.get_data_info(idx)
            groups.setdefault(info['video_id'], []).append(
                (info['frame_id'], idx))
        return {k: [i for _, i in sorted(v)] for k, v in groups.items()}

    def __iter__(self) -> Iterator[int]:
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)

    def set_epoch(self, epoch: int) -> None:
        """No-op; the order does not depend on the epoch."""
