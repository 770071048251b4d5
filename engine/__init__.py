"""The training engine: configuration, training loop, evaluation, checkpoints."""
