"""What G's output layer means, step by step: the onset and presence flags drawn
straight-through, K candidate events and the choice among them, the categorical pitch head's
draw among the 128 MIDI pitches, and the circle-of-fifths features of pitches that G and D
are fed. Pure tensor functions, shared by the networks
(crnngan.models.networks), their losses and the compiled unroll.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def num_flags(tones_per_step: int) -> int:
    """Binary outputs per step: the onset flag, plus a presence flag per slot when k > 1."""
    return 1 + (tones_per_step if tones_per_step > 1 else 0)


def num_uniforms(tones_per_step: int, hypotheses: int = 1, categorical: bool = False) -> int:
    """Uniforms G draws per step, in this order: one per flag, one per slot drawing its pitch
    with the categorical pitch head, one choosing the candidate when K > 1."""
    return num_flags(tones_per_step) + (tones_per_step if categorical else 0) + (hypotheses > 1)


# The categorical pitch head's classes: every MIDI number, 0-127, whatever the corpus spans.
MIDI_PITCHES = 128


# How the pitch feature maps back to MIDI numbers: (pitch_feature, mean, std) of the
# Normalizer, pitch_feature "midi" or "frequency" (Hz). The default reads the feature as a MIDI
# number standardised around middle C, for networks built without data (tests, benchmark).
PitchScale = tuple[str, float, float]
DEFAULT_PITCH: PitchScale = ("midi", 60.0, 12.0)


def num_pitch_classes(tones_per_step: int, pitch_classes: bool) -> int:
    """Extra input features per step: (cos, sin) of each slot's place on the circle of fifths."""
    return 2 * tones_per_step if pitch_classes else 0


def pitch_values(x: Tensor, tones_per_step: int) -> tuple[Tensor, Tensor | None]:
    """Events (..., F) -> each slot's pitch feature (..., k) and presence (..., k) (None for
    k = 1, where every step sounds)."""
    if tones_per_step == 1:
        return x[..., 3:4], None  # (..., 1)
    slots = x[..., 2:].unflatten(-1, (tones_per_step, 4))  # (..., k, 4)
    return slots[..., 1], slots[..., 3]  # (..., k) each


def _midi_numbers(values: Tensor, pitch: PitchScale) -> Tensor:
    """Pitch features -> MIDI numbers (real-valued; the inverse is :func:`_features`)."""
    kind, mean, std = pitch
    m = values * std + mean  # MIDI numbers, or Hz
    return 69.0 + 12.0 * torch.log2(m.clamp_min(1.0) / 440.0) if kind == "frequency" else m


def _features(midi: Tensor, pitch: PitchScale) -> Tensor:
    """MIDI numbers -> pitch features, the inverse of :func:`_midi_numbers`."""
    kind, mean, std = pitch
    m = 440.0 * torch.pow(2.0, (midi - 69.0) / 12.0) if kind == "frequency" else midi
    return (m - mean) / std


def circle_of_fifths(x: Tensor, tones_per_step: int, pitch: PitchScale) -> Tensor:
    """Events (..., F) -> (..., 2k): cos and sin of each tone's angle 2 pi 7 m / 12 on the
    circle of fifths, m its MIDI number (zeros for an absent slot).

    A standardised pitch is a line: a small network needs many units to fold it into the 12
    pitch classes that keys are made of. On the circle of fifths a major or minor scale is 7
    neighbouring places (C major: F C G D A E B), so the mean of these vectors over the
    tones heard so far points at the key and "in the key" is one dot product away: a
    direction G can follow and D can check (and feature matching then compares)."""
    values, present = pitch_values(x, tones_per_step)
    angle = _midi_numbers(values, pitch) * (2.0 * torch.pi * 7.0 / 12.0)  # (..., k)
    feats = torch.stack([torch.cos(angle), torch.sin(angle)], dim=-1)  # (..., k, 2)
    if present is not None:
        feats = feats * present[..., None]
    return feats.flatten(-2)


def on_semitones(x: Tensor, tones_per_step: int, pitch: PitchScale) -> Tensor:
    """Events (..., F) with every sounding tone's pitch rounded to the nearest semitone in the
    forward pass and passed straight through in the backward pass (absent slots stay 0).

    What G is fed back while free running. Teacher forcing feeds it real pitches, which are
    integers; its own are real-valued, anywhere between two semitones, and the tone is played
    rounded. Fed the rounded pitch, G continues from the tone it played and from the
    inputs it was trained on (its circle-of-fifths features included), not from a pitch
    between two keys' notes."""
    values, present = pitch_values(x, tones_per_step)
    rounded = _features(torch.round(_midi_numbers(values, pitch)), pitch)  # (..., k)
    if present is not None:
        rounded = rounded * present
    return with_pitch_values(x, tones_per_step, values + (rounded - values).detach())  # forward rounded


def with_pitch_values(x: Tensor, tones_per_step: int, values: Tensor) -> Tensor:
    """Events (..., F) with each slot's pitch feature replaced by ``values`` (..., k)."""
    if tones_per_step == 1:
        return torch.cat([x[..., :3], values, x[..., 4:]], dim=-1)
    slots = x[..., 2:].unflatten(-1, (tones_per_step, 4))  # (..., k, 4)
    slots = torch.cat([slots[..., :1], values[..., None], slots[..., 2:]], dim=-1)
    return torch.cat([x[..., :2], slots.flatten(-2)], dim=-1)


def midi_classes(values: Tensor, pitch: PitchScale) -> Tensor:
    """Pitch features (..., k) (:func:`pitch_values`) -> MIDI numbers as class indices, long:
    the nearest integer, clamped to 0-127 (an absent slot's index is meaningless; mask it by
    presence)."""
    return torch.round(_midi_numbers(values, pitch)).clamp(0, MIDI_PITCHES - 1).long()


def perturb_fed(x: Tensor, tones_per_step: int, std: float) -> Tensor:
    """Events (..., F) with Gaussian noise of ``std`` (normalised units) on the values that
    exist: dt where the step is an onset, each sounding slot's length and velocity. Flags,
    pitches and every exact zero (a chord member's dt, an absent slot) are left as they are.

    What teacher forcing feeds G as the previous event when ``teacher_noise`` > 0. Fed only
    real events, G learns "the next velocity (length, dt) is the previous one" with a gain
    that is near 1 but not below it, and free running feeds each step's small error back
    until the loudness and tempo run to the edge of the range (the baseline, seed 1:
    velocity 90 to 127 within 40 notes). Fed a perturbed previous event and scored against
    the real next one, G learns to pull a value that is off back towards the data, so its
    own errors shrink instead of growing (noise injection against drift in free-running
    regression RNNs: Fragkiadaki et al. 2015; Bengio et al. 2015 for the exposure bias it
    answers). Pitch is spared: it is discrete, and its circle-of-fifths features (the key)
    are read from it."""
    if tones_per_step == 1:
        scale = torch.zeros_like(x)  # (..., F)
        scale[..., [2, 4]] = 1.0  # length, velocity: every step sounds
    else:
        slots = x[..., 2:].unflatten(-1, (tones_per_step, 4))  # (..., k, 4)
        columns = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=x.dtype, device=x.device)  # length, velocity
        scale = torch.cat([torch.zeros_like(x[..., :2]), (columns * slots[..., 3:]).flatten(-2)], dim=-1)
    scale[..., 0] = x[..., 1]  # dt where the step is an onset
    return x + std * torch.randn_like(x) * scale


def with_pitch_classes(x: Tensor, tones_per_step: int, pitch: PitchScale | None) -> Tensor:
    """(..., F) -> (..., F + 2k) with :func:`circle_of_fifths` appended; unchanged for None."""
    return x if pitch is None else torch.cat([x, circle_of_fifths(x, tones_per_step, pitch)], dim=-1)


def _straight_through(logit: Tensor, u: Tensor | None) -> Tensor:
    """A 0/1 draw with probability sigmoid(logit) in the forward pass, the sigmoid's gradient in
    the backward pass (straight-through estimator). ``u`` ~ U[0, 1) of the logit's shape makes
    the draw (1 where u < p); None thresholds p at 0.5 instead."""
    p = torch.sigmoid(logit)
    hard = (p > 0.5) if u is None else (u < p)
    return hard.to(p.dtype) + (p - p.detach())  # exactly 0 or 1 forward: (1 + p) - p can round


def gate_outputs(out: Tensor, tones_per_step: int, u: Tensor | None = None) -> Tensor:
    """Raw head outputs (..., F) -> events whose flags are exactly 0 or 1 and whose zeros are
    exact; ``u`` (..., num_flags(k)) uniforms draw the flags (None: threshold at 0.5).

    Column 1 is an onset logit: its flag multiplies dt (column 0), so a chord member has dt
    exactly 0. For k > 1 each slot's 4th output is a presence logit gating the slot's
    (length, pitch, velocity): an absent fake slot is all zeros with presence 0, exactly like
    an absent real one. So D cannot tell fakes by their missing exact zeros, and G learns
    chords and rests as probabilities. Free running draws the flags rather than thresholding
    them: a chord probability of 0.4 would otherwise never give a chord.
    """
    onset = _straight_through(out[..., 1:2], None if u is None else u[..., :1])  # (..., 1)
    head = torch.cat([out[..., :1] * onset, onset], dim=-1)  # (..., 2)
    if tones_per_step == 1:
        return torch.cat([head, out[..., 2:]], dim=-1)
    slots = out[..., 2:].unflatten(-1, (tones_per_step, 4))  # (..., k, 4)
    presence = _straight_through(slots[..., 3:], None if u is None else u[..., 1:, None])  # (..., k, 1)
    tone = torch.cat([slots[..., :3], torch.ones_like(presence)], dim=-1) * presence  # (..., k, 4)
    return torch.cat([head, tone.flatten(-2)], dim=-1)


def head_width(num_features: int, hypotheses: int, tones_per_step: int = 1, categorical: bool = False) -> int:
    """G's output layer width: one event, or K candidate events and K choice logits; the
    categorical pitch head adds 128 pitch logits per slot after the event (:func:`draw_pitches`)."""
    width = num_features if hypotheses == 1 else hypotheses * (num_features + 1)
    return width + (tones_per_step * MIDI_PITCHES if categorical else 0)


def split_hypotheses(out: Tensor, hypotheses: int) -> tuple[Tensor, Tensor]:
    """(..., K (F + 1)) head outputs -> candidates (..., K, F) and choice logits (..., K)."""
    return out[..., hypotheses:].unflatten(-1, (hypotheses, -1)), out[..., :hypotheses]


def choose(out: Tensor, hypotheses: int, u: Tensor | None = None) -> Tensor:
    """(..., K (F + 1)) head outputs -> the raw event (..., F) of one candidate, drawn with the
    probabilities softmax(logits) by the uniforms ``u`` (...,) (None: the most likely one).

    Straight-through like the flags: the forward pass is exactly the chosen candidate, the
    backward pass reaches the other candidates' probabilities. A discrete choice, so a G that
    learned two likely next pitches plays one of them, never the pitch in between."""
    if hypotheses == 1:
        return out
    candidates, logits = split_hypotheses(out, hypotheses)  # (..., K, F), (..., K)
    return (_draw(logits, u)[..., None] * candidates).sum(-2)


def _draw(logits: Tensor, u: Tensor | None, top_p: float = 1.0) -> Tensor:
    """(..., N) logits -> (..., N): one-hot in the forward pass, drawn with the probabilities
    softmax(logits) by the uniforms ``u`` (...,) (None: the most likely class), and the
    softmax's gradient in the backward pass (straight-through). With ``top_p`` < 1 the draw
    is among the nucleus alone (:func:`nucleus`), renormalised, and so is the gradient."""
    n = logits.shape[-1]
    p = torch.softmax(logits.float(), dim=-1).to(logits.dtype)  # (..., N)
    if top_p < 1.0:
        p = nucleus(p, top_p)
    if u is None:
        index = p.argmax(-1)
    else:  # inverse CDF: the first class whose cumulative probability exceeds u
        index = (p.cumsum(-1) <= u[..., None]).sum(-1).clamp(max=n - 1)  # (...,)
    return F.one_hot(index, n).to(p.dtype) + (p - p.detach())  # exactly one-hot forward


def nucleus(p: Tensor, top_p: float) -> Tensor:
    """(..., N) probabilities -> (..., N) the same, kept only on the nucleus and renormalised:
    the most likely classes, in order, until their mass reaches ``top_p`` (the class that
    crosses it included, so the most likely one always stays; Holtzman et al. 2020, nucleus
    sampling). The mask is a constant; the gradient flows through the kept probabilities.

    Why: cross-entropy leaves a floor of probability on every one of the 128 MIDI numbers,
    and a song draws 100 of them, so a few tones per song fall far off the line and out of
    the key (the tail), widening the span by half or more over real music's while the middle
    90% of the pitches spans about as real music's does (README, ``pitch_top_p``)."""
    ranked, order = p.sort(dim=-1, descending=True, stable=True)  # (..., N) each
    keep = (ranked.cumsum(-1) - ranked) < top_p  # the mass before a class is under top_p
    kept = p * torch.zeros_like(keep).scatter(-1, order, keep).to(p.dtype)  # (..., N)
    return kept / kept.sum(-1, keepdim=True)


def draw_pitches(out: Tensor, num_features: int, tones_per_step: int, pitch: PitchScale,
                 u: Tensor | None = None, top_p: float = 1.0) -> Tensor:  # fmt: skip
    """(..., F + 128 k) head outputs of the categorical pitch head -> the raw event (..., F)
    with each slot's pitch the feature of a MIDI number drawn from softmax(its 128 logits) by
    the uniforms ``u`` (..., k) (None: the most likely number), among the numbers of its
    ``top_p`` nucleus (:func:`nucleus`; 1: all 128). The event's own pitch outputs are not used.

    Straight-through as :func:`choose`: the forward pass is exactly an integer MIDI number,
    the backward pass reaches every number's probability, weighted by its pitch feature.
    A regression head (or a few candidates, each regressed to the mean pitch of the steps it
    wins) can only place a handful of fixed pitch lanes; a distribution over the 128 numbers
    can learn which of them are likely given the key and the line so far, as the
    categorical melody models of this field do."""
    logits = out[..., num_features:].unflatten(-1, (tones_per_step, MIDI_PITCHES))  # (..., k, 128)
    pick = _draw(logits, u, top_p)  # (..., k, 128)
    grid = _features(torch.arange(MIDI_PITCHES, device=out.device, dtype=out.dtype), pitch)  # (128,)
    return with_pitch_values(out[..., :num_features], tones_per_step, (pick * grid).sum(-1))
