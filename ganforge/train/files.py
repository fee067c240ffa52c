"""Moved to :mod:`ganforge.files` (plugins: :mod:`ganforge.sdk`); this alias goes in ganforge 2.0."""

from ganforge._deprecated import moved_module
from ganforge.files import atomic_write_bytes, atomic_write_text, file_sha256, writing  # noqa: F401

moved_module(__name__, "ganforge.files")
