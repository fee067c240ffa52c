"""Version numbers: the distribution's, and the plugin SDK's (see docs/sdk.md)."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("ganforge")
except metadata.PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0"

SDK_VERSION = "1.6"
"""The plugin SDK's version: the minor number grows when names are added; the major number
changes only when a name of ``ganforge.sdk`` is removed or changes meaning."""
