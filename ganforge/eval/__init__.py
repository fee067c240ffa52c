"""Evaluation: feature networks, reference statistics, metrics and the evaluation pass."""
