"""An endless stream of batches in a seeded order whose position can be saved and restored."""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, DistributedSampler

from ganforge.capabilities import Batched, EpochAware, Prerenders
from ganforge.errors import DataError, GanforgeError


def without_worker_traceback(exc: Exception) -> str:
    """The message of an error raised in a DataLoader worker, without the worker's traceback
    that the DataLoader folds into it."""
    message, marker = str(exc), f"{type(exc).__module__}.{type(exc).__name__}: "
    return message.split(marker, 1)[1].strip() if "Original Traceback" in message and marker in message else message


class _WholeBatches(Dataset):
    """A :class:`Batched` dataset indexed by a list of indices: one read per batch."""

    def __init__(self, dataset: Batched):
        self.dataset = dataset

    def __getitem__(self, indices: list[int]) -> dict[str, Any]:
        return self.dataset.batch(indices)


class BatchStream:
    """Batches from ``dataset``: each epoch is a permutation seeded by ``(seed, epoch)``,
    optionally sharded over ``world_size`` ranks. ``state_dict()`` records the epoch and the
    batches already taken from it, so a restored stream yields exactly what comes next."""

    def __init__(self, dataset: Dataset, batch_size: int, seed: int, *, workers: int = 0,
                 device: torch.device | str = "cpu", rank: int = 0, world_size: int = 1,
                 channels_last: bool = False):
        self.dataset, self.batch_size, self.seed = dataset, batch_size, seed
        self.memory_format = torch.channels_last if channels_last else torch.preserve_format
        self.workers, self.device = workers, torch.device(device)
        self.rank, self.world_size = rank, world_size
        self.per_rank = len(dataset) // world_size
        self.batches_per_epoch = self.per_rank // batch_size
        if self.batches_per_epoch == 0:
            raise DataError(
                f"the dataset has {len(dataset)} items, fewer than one batch of {batch_size}"
                + (f" per rank ({world_size} ranks)" if world_size > 1 else "")
                + "; lower train.batch_size or add data"
            )
        self.epoch, self.position = 0, 0
        self._iterator: Iterator[Any] | None = None

    def _order(self) -> list[int]:
        """This rank's remaining indices of the epoch, from the saved position on. The epoch is
        PyTorch's DistributedSampler permutation for one process (seeded by seed + epoch); each
        global batch of ``batch_size`` x ``world_size`` items is cut into contiguous rank
        shares, so rank r holds rows r*B..(r+1)*B-1 of the batch one process would draw: the
        rows that its share of the global noise (``rank_randn``) is paired with."""
        sampler = DistributedSampler(self.dataset, num_replicas=1, rank=0, shuffle=True, seed=self.seed,
                                     drop_last=True)
        sampler.set_epoch(self.epoch)
        epoch, size, world = list(sampler), self.batch_size, self.world_size
        shard = [index for batch in range(self.batches_per_epoch)
                 for index in epoch[(batch * world + self.rank) * size:(batch * world + self.rank + 1) * size]]
        return shard[self.position * size:]

    def _start(self) -> None:
        # A generator of its own: the loader must not draw from the global RNG, or where an
        # epoch starts would change the training noise (and break exact resume).
        if isinstance(self.dataset, EpochAware):
            self.dataset.set_epoch(self.epoch)
        if self.workers == 0 and isinstance(self.dataset, Prerenders):
            self.dataset.prerender()  # items drawn ahead, off the main thread
        common = dict(num_workers=self.workers, pin_memory=self.device.type == "cuda",
                      generator=torch.Generator().manual_seed(self.seed + self.epoch))
        if isinstance(self.dataset, Batched):  # a batch at a time, no per-item collation
            batches = BatchSampler(self._order(), self.batch_size, drop_last=True)
            loader = DataLoader(_WholeBatches(self.dataset), batch_size=None, sampler=batches, **common)
        else:
            loader = DataLoader(self.dataset, batch_size=self.batch_size, sampler=self._order(), drop_last=True,
                                **common)
        self._iterator = iter(loader)

    def __iter__(self) -> "BatchStream":
        return self

    def __next__(self) -> dict[str, torch.Tensor]:
        if self.position >= self.batches_per_epoch:
            self.epoch, self.position, self._iterator = self.epoch + 1, 0, None
        if self._iterator is None:
            self._start()
        try:
            batch = next(self._iterator)
        except GanforgeError as exc:
            raise type(exc)(without_worker_traceback(exc)) from None
        self.position += 1
        return {k: self._move(v) if torch.is_tensor(v) else v for k, v in batch.items()}

    def _move(self, value: torch.Tensor) -> torch.Tensor:
        image = value.dim() == 4 and value.is_floating_point()
        return value.to(self.device, non_blocking=True, memory_format=self.memory_format if image else torch.preserve_format)

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "position": self.position}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.position, self._iterator = int(state["epoch"]), int(state["position"]), None
