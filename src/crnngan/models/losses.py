"""Losses and the freezing rule of C-RNN-GAN, as pure tensor functions.

Probabilities are D's sequence decisions, shape (B,). Losses are computed in float32 so that
mixed precision does not change their value.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from crnngan.models.heads import (
    MIDI_PITCHES,
    PitchScale,
    midi_classes,
    pitch_values,
    split_hypotheses,
    with_pitch_values,
)

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


def feature_matching_loss(feat_real: Tensor, feat_fake: Tensor, form: str = "batch_mean") -> Tensor:
    """Feature matching on D's bi-LSTM outputs R, feat_*: (B, T, C).

    ``batch_mean`` (Salimans et al. 2016, which the paper cites): ||E R(x) - E R(G(z))||^2,
    the batch means per step and channel compared, squared differences averaged over time and
    channels (so the value is on the scale of one feature's, like :func:`next_event_loss`,
    and ``mle_weight`` means the same at every size). Two batches with the same mean features
    score 0 whatever their samples.

    ``batch_moments``: batch_mean plus the same for the standard deviations over the batch,
    ||Std R(x) - Std R(G(z))||^2. The mean alone is met by a G that plays one "average"
    sequence for every z; the spread term costs such a G the whole real spread, so the fakes
    must differ from each other as much as real sequences do.

    ``paired`` (the formula as the paper prints it and the original code computes it):
    (1/m) sum_i ||R(x_i) - R(G(z_i))||^2, the i-th fake against the unrelated i-th real. As x
    and z are independent its expectation is ||E R(x) - R(G(z))||^2 + tr Cov R(x): least when
    every z gives the one sequence nearest the mean, so this form rewards collapse.
    (The original code also summed over the batch, i.e. B times this value.)
    """
    if feat_real.shape != feat_fake.shape:
        raise ValueError(f"feature shapes differ: {tuple(feat_real.shape)} vs {tuple(feat_fake.shape)}")
    real, fake = feat_real.float(), feat_fake.float()
    if form in ("batch_mean", "batch_moments"):
        loss = (real.mean(0) - fake.mean(0)).pow(2).mean()
        if form == "batch_moments":
            # Population std (correction 0): defined for the 1-sequence last batch of an epoch.
            loss = loss + (real.std(0, correction=0) - fake.std(0, correction=0)).pow(2).mean()
        return loss
    if form == "paired":
        diff = real - fake
        return diff.pow(2).sum() / diff.shape[0]
    raise ValueError(f"feature matching form must be batch_moments, batch_mean or paired, got {form!r}")


def _tone_errors(pred: Tensor, target: Tensor, velocity_loss: str) -> Tensor:
    """(..., 3) (length, pitch, velocity) -> (...,): squared errors, velocity's absolute if asked.

    Within a song of this kind of music a tone's velocity is mostly the previous tone's: the
    loudness is held. The squared error's optimum is the conditional mean, which blends in
    the loudness levels G cannot rule out, so free running nudges each step's velocity and a
    held loudness drifts. The absolute error's optimum, the conditional median, is the held
    velocity itself, and its gradient is bounded: a loudness nothing predicts (a window's
    first tone, a new level) weighs less against pitch in what the shared LSTM learns. An
    option, no model's default: its pull back towards the data does not grow as G drifts (in
    a GAN run where D won the loudness drifted far more than under the squared error), and
    the baseline's drift is answered by its cause instead, the exposure to its own errors
    (``teacher_noise``; README).
    """
    diff = pred - target
    if velocity_loss == "squared":
        return diff.pow(2).sum(-1)
    if velocity_loss == "absolute":
        return diff[..., :2].pow(2).sum(-1) + diff[..., 2].abs()
    raise ValueError(f"velocity loss must be squared or absolute, got {velocity_loss!r}")


def next_event_step_losses(
    pred: Tensor, target: Tensor, tones_per_step: int = 1, velocity_loss: str = "squared"
) -> Tensor:
    """Per-step terms of :func:`next_event_loss`, (..., T): pred (..., T, F) raw head outputs
    (leading dimensions broadcast against target's, e.g. (K, B, T, F) against (B, T, F)),
    target (B, T, F) real features, in the layout of ``representation.feature_width``.

    The flags (onset, and presence for k > 1) are trained as probabilities: binary
    cross-entropy of their logits against the real 0/1. The values by squared error only
    where they exist: dt where the real step is a new onset (a chord member has no dt to
    predict), a slot's (length, pitch, velocity) where the real slot sounds (regressing
    absent slots to 0 would pull every slot towards silence); velocity by absolute error
    instead with ``velocity_loss`` "absolute" (:func:`_tone_errors`).
    """
    pred, target = pred.float(), target.float()
    target = target.expand_as(pred)
    onset = target[..., 1]  # (..., T)
    flags = F.binary_cross_entropy_with_logits(pred[..., 1], onset, reduction="none")
    dt = (pred[..., 0] - target[..., 0]).pow(2) * onset
    if tones_per_step == 1:
        return dt + flags + _tone_errors(pred[..., 2:], target[..., 2:], velocity_loss)
    p_slots = pred[..., 2:].unflatten(-1, (tones_per_step, 4))  # (..., T, k, 4)
    t_slots = target[..., 2:].unflatten(-1, (tones_per_step, 4))
    present = t_slots[..., 3]  # (..., T, k)
    flags = flags + F.binary_cross_entropy_with_logits(p_slots[..., 3], present, reduction="none").sum(-1)
    tone = (_tone_errors(p_slots[..., :3], t_slots[..., :3], velocity_loss) * present).sum(-1)
    return dt + flags + tone


def next_event_loss(pred: Tensor, target: Tensor, tones_per_step: int = 1, velocity_loss: str = "squared") -> Tensor:
    """G's teacher-forced next-event loss; pred: raw head outputs, target: real features,
    both (B, T, F): :func:`next_event_step_losses` summed and divided by the number of
    target values, so the scale is that of a per-feature mean."""
    return next_event_step_losses(pred, target, tones_per_step, velocity_loss).sum() / target.numel()


def pitch_errors(pred: Tensor, target: Tensor, tones_per_step: int = 1) -> Tensor:
    """Squared pitch error per step, (..., T): pred (..., T, F) broadcast against target
    (B, T, F); for k > 1 summed over the real step's sounding slots."""
    pred, target = pred.float(), target.float()
    if tones_per_step == 1:
        return (pred[..., 3] - target[..., 3]).pow(2)
    p_slots = pred[..., 2:].unflatten(-1, (tones_per_step, 4))  # (..., T, k, 4)
    t_slots = target[..., 2:].unflatten(-1, (tones_per_step, 4))
    return ((p_slots[..., 1] - t_slots[..., 1]).pow(2) * t_slots[..., 3]).sum(-1)


def categorical_pitch_loss(
    out: Tensor, target: Tensor, tones_per_step: int, pitch: PitchScale, velocity_loss: str = "squared"
) -> Tensor:
    """G's teacher-forced loss for the categorical pitch head: out (B, T, F + 128 k) (see
    ``crnngan.models.heads.draw_pitches``), target (B, T, F).

    :func:`next_event_step_losses` for everything but pitch, whose squared error is replaced
    by the cross-entropy of each sounding slot's 128 logits against its real MIDI number
    (the event's own pitch outputs are unused and get no gradient). Summed and divided by the
    number of target values, on :func:`next_event_loss`'s scale, as :func:`hypotheses_loss`.
    The cross-entropy is in nats, not squared units: validation losses compare within one
    head kind."""
    num_features = target.shape[-1]
    values, present = pitch_values(target.float(), tones_per_step)  # (B, T, k) each (present None for k = 1)
    event = with_pitch_values(out[..., :num_features].float(), tones_per_step, values)
    per = next_event_step_losses(event, target, tones_per_step, velocity_loss)  # (B, T): pitch error 0
    logits = out[..., num_features:].unflatten(-1, (tones_per_step, MIDI_PITCHES)).float()  # (B, T, k, 128)
    real = midi_classes(values, pitch)  # (B, T, k)
    ce = F.cross_entropy(logits.flatten(0, -2), real.flatten(), reduction="none").view_as(real)  # (B, T, k)
    if present is not None:
        ce = ce * present  # absent slots have no pitch
    return (per.sum() + ce.sum()) / target.numel()


def hypotheses_loss(
    out: Tensor, target: Tensor, tones_per_step: int = 1, hypotheses: int = 1, velocity_loss: str = "squared"
) -> Tensor:
    """G's teacher-forced loss for a head of K candidate events: out (B, T, K (F + 1)) (see
    ``crnngan.models.heads.split_hypotheses``), target (B, T, F). K = 1 is :func:`next_event_loss`.

    Winner-takes-all (Guzman-Rivera et al. 2012; Rupprecht et al. 2017): at every step only
    one candidate, the one whose pitch is nearest the real pitch, is scored (with its whole
    next-event loss), and the choice logits learn by cross-entropy which candidate that was,
    so they learn each candidate's probability. Plain regression (K = 1) learns the
    conditional mean: between two likely next pitches it predicts the pitch in between for
    every z, so G ignores its noise and, free running, drifts on one held pitch. With K
    candidates G learns K distinct continuations and how likely each is, and sampling draws
    one (``crnngan.models.heads.choose``). The winner is picked by pitch alone because pitch is what must
    not be averaged: picked by the whole event, the candidates split the data by rhythm and
    loudness, each candidate's pitch is again a mean (off the scale), and a sampled song
    changes loudness at every step (measured on the default corpus, seed 42, pretraining
    only: scale consistency 0.72 and intensity span 18 picking by event; 0.86 and 7.8, real
    music 0.93 and 7.5, picking by pitch). Both terms are summed and divided by the number
    of target values, on :func:`next_event_loss`'s scale.
    """
    if hypotheses == 1:
        return next_event_loss(out, target, tones_per_step, velocity_loss)
    candidates, logits = split_hypotheses(out, hypotheses)  # (B, T, K, F), (B, T, K)
    candidates = candidates.movedim(-2, 0)  # (K, B, T, F)
    winner = pitch_errors(candidates, target, tones_per_step).argmin(0)  # (B, T)
    per = next_event_step_losses(candidates, target, tones_per_step, velocity_loss)  # (K, B, T)
    scored = per.gather(0, winner[None])[0]  # (B, T)
    choice = F.cross_entropy(logits.float().flatten(0, -2), winner.flatten(), reduction="sum")
    return (scored.sum() + choice) / target.numel()


FREEZE_RULES = ("loss", "accuracy")


def freeze_decision(d_loss: float, g_loss: float, ratio: float) -> tuple[bool, bool]:
    """The paper's loss rule: which player skips its next update, (freeze_d, freeze_g).

    Stop updating D while its loss is below ``ratio`` (70%) of G's, and the same for G
    against D. ``g_loss`` is G's adversarial loss even under feature matching, so the two are
    on the same scale. ``ratio`` 0 never freezes. With 0 <= ratio <= 1 and losses >= 0 both
    can never freeze at once (d < r*g <= g and g < r*d <= d is impossible). Unlike the
    original code this is symmetric: no "either loss < 2" gate, and G is not frozen by default.

    Under feature matching G does not minimise its adversarial loss, so this rule sees D
    winning on most batches and freezes it for good (72-98% of batches in a default run);
    the original code, in the paper's snapshot, switched freezing off with feature matching.
    :func:`freeze_by_accuracy` is the alternative.
    """
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"freeze ratio must be in [0, 1], got {ratio}")
    if d_loss < 0 or g_loss < 0:
        raise ValueError(f"losses must be >= 0, got d_loss={d_loss}, g_loss={g_loss}")
    return d_loss < ratio * g_loss, g_loss < ratio * d_loss


def freeze_by_accuracy(d_accuracy: float, threshold: float) -> tuple[bool, bool]:
    """Freeze D (only) while it classified at least ``threshold`` of the last batch right, a
    rule that means the same under feature matching as without it; threshold > 1 never
    freezes. Returns (freeze_d, freeze_g)."""
    if not 0.0 <= d_accuracy <= 1.0:
        raise ValueError(f"accuracy must be in [0, 1], got {d_accuracy}")
    return d_accuracy >= threshold, False
