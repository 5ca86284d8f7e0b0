"""Losses and the freezing rule of C-RNN-GAN, as pure tensor functions.

Probabilities are D's sequence decisions, shape (B,). Losses are computed in float32 so that
mixed precision does not change their value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

# Smallest argument of log: caps each log term at -log(EPS) ~ 16 instead of inf when D is sure.
EPS = 1e-7


def _log(t: Tensor) -> Tensor:
    return torch.log(t.float().clamp_min(EPS))


def discriminator_loss(p_real: Tensor, p_fake: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Mean over the batch of -log D(x) - log(1 - D(G(z))).

    With ``label_smoothing`` s the real target is 1 - s (one-sided smoothing, Salimans et al.
    2016): the real term becomes -(1 - s) log D(x) - s log(1 - D(x)).
    """
    real = -(1.0 - label_smoothing) * _log(p_real) - label_smoothing * _log(1.0 - p_real.float())
    fake = -_log(1.0 - p_fake.float())
    return (real + fake).mean()


def generator_loss(p_fake: Tensor) -> Tensor:
    """Non-saturating adversarial loss, mean over the batch of -log D(G(z)).

    The paper prints the saturating form mean log(1 - D(G(z))); the original code, like most
    GANs, minimises this non-saturating form, which has strong gradients while D wins.
    """
    return -_log(p_fake).mean()


def feature_matching_loss(feat_real: Tensor, feat_fake: Tensor) -> Tensor:
    """The paper's (1/m) sum_i ||R(x_i) - R(G(z_i))||^2.

    feat_*: (B, T, C) bi-LSTM outputs of D. Squared differences are summed over time and
    channels and averaged over the batch (the i-th fake paired with the i-th real sequence).
    The original code also summed over the batch, i.e. B times this value.
    """
    if feat_real.shape != feat_fake.shape:
        raise ValueError(f"feature shapes differ: {tuple(feat_real.shape)} vs {tuple(feat_fake.shape)}")
    diff = feat_real.float() - feat_fake.float()
    return diff.pow(2).sum() / diff.shape[0]


def pretrain_loss(pred: Tensor, target: Tensor) -> Tensor:
    """Next-event squared error, mean over batch, time and features."""
    return F.mse_loss(pred.float(), target.float())


def freeze_decision(d_loss: float, g_loss: float, ratio: float) -> tuple[bool, bool]:
    """Which player skips its next update: (freeze_d, freeze_g).

    The paper: stop updating D while its loss is below ``ratio`` (70%) of G's, and the same for
    G against D. ``g_loss`` is G's adversarial loss even under feature matching, so the two are
    on the same scale. ``ratio`` 0 never freezes. With 0 <= ratio <= 1 and losses >= 0 both
    can never freeze at once (d < r*g <= g and g < r*d <= d is impossible). Unlike the
    original code this is symmetric: no "either loss < 2" gate, and G is not frozen by default.
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"freeze ratio must be in [0, 1], got {ratio}")
    if d_loss < 0 or g_loss < 0:
        raise ValueError(f"losses must be >= 0, got d_loss={d_loss}, g_loss={g_loss}")
    return d_loss < ratio * g_loss, g_loss < ratio * d_loss
