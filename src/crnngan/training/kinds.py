"""Model kind -> LightningModule: ``gan`` trains a :class:`~crnngan.training.gan.GANModule`,
``baseline`` a :class:`~crnngan.training.baseline.BaselineModule`; and how many epochs each
trains for."""

from __future__ import annotations

from crnngan.model_config import GANConfig, ModelConfig
from crnngan.models.heads import DEFAULT_PITCH, PitchScale
from crnngan.training.baseline import BaselineModule
from crnngan.training.gan import GANModule

MODULES: dict[str, type[GANModule] | type[BaselineModule]] = {"gan": GANModule, "baseline": BaselineModule}


def pretrain_epochs(cfg: ModelConfig) -> int:
    """Epochs of teacher-forced pretraining before the game: a GAN's own, none for the baseline
    (whose whole training is that regression)."""
    return cfg.pretrain_epochs if isinstance(cfg, GANConfig) else 0


def total_epochs(cfg: ModelConfig) -> int:
    """Epochs a model of this config trains for (pretraining included for a GAN)."""
    return cfg.epochs + pretrain_epochs(cfg)


def create_module(
    cfg: ModelConfig,
    num_features: int,
    segment_length: int,
    fixed_samples: int = 8,
    pitch: PitchScale = DEFAULT_PITCH,
) -> GANModule | BaselineModule:
    """The LightningModule for ``cfg.kind``, holding ``cfg`` itself; ``pitch``: the data's
    (pitch_feature, pitch_mean, pitch_std), for the networks' pitch classes."""
    return MODULES[cfg.kind](cfg, num_features, segment_length, fixed_samples, pitch=pitch)
