"""Training: the loop, checkpoints, EMA, the run folder."""
