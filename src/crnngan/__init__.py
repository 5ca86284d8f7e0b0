"""C-RNN-GAN (Mogren 2016) and its RNN baseline: data, models, metrics, tracking."""

__version__ = "0.1.0"
