"""LightningModules, fitting and resuming, callbacks, sampling from checkpoints."""
