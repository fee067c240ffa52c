"""Data: what adapters return (:class:`DataInfo` plus map-style datasets of dict items) and
the seeded, resumable batch stream the trainer reads."""

from ganforge.data.info import DataInfo

__all__ = ["DataInfo"]
