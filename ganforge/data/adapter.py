"""The base class of data adapters."""

from __future__ import annotations

from torch import Tensor
from torch.utils.data import Dataset

from ganforge.data.info import DataInfo


class DataAdapter(Dataset):
    """A dataset of dict items described by ``info`` (see :class:`DataInfo` for the keys and
    shapes). Optional capabilities: ``set_epoch(epoch)`` when the augmentation depends on the
    epoch (:class:`ganforge.capabilities.EpochAware`), ``fingerprint()`` naming the content
    (:class:`ganforge.capabilities.Fingerprinted`), ``labels`` holding every item's class
    (:class:`ganforge.capabilities.LabelledData`)."""

    info: DataInfo

    def __len__(self) -> int:
        raise NotImplementedError

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        raise NotImplementedError
