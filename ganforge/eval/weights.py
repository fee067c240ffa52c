"""Moved to :mod:`ganforge.weights`; this alias goes in ganforge 2.0."""

from ganforge._deprecated import moved_module
from ganforge.weights import INCEPTION_V3, KnownWeights, MissingWeights, resolve_weights  # noqa: F401

moved_module(__name__, "ganforge.weights")
