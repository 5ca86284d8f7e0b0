"""C-RNN-GAN networks (Mogren 2016): the feed-previous LSTM generator and the bi-LSTM discriminator.

Plain ``nn.Module``s; training lives in :mod:`crnngan.training.gan` and ``training.baseline``.
Shapes: B batch, T time steps, F features per step (``representation.feature_width(k)``: 5 for
k = 1, 2 + 4k for k > 1 tones per step), Z noise dimension, H hidden units.

Initialisation is PyTorch's default. The original code drew its linear layers from N(0, 1)
on unnormalised inputs (anchors 3.5, 3.9.6); the paper does not state an initialisation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from crnngan.models.heads import (
    PitchScale,
    choose,
    draw_pitches,
    gate_outputs,
    head_width,
    num_flags,
    num_pitch_classes,
    num_uniforms,
    on_semitones,
    with_pitch_classes,
)


def num_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _lstm_dropout(layers: int, dropout: float) -> float:
    # nn.LSTM only applies dropout between layers and warns when there is no such place.
    return dropout if layers > 1 else 0.0


class Generator(nn.Module):
    """Unidirectional stacked LSTM fed with uniform noise and its own previous output.

    Per step: concat(z_t, previous event [, its pitch classes]) -> Linear -> ReLU -> LSTM stack
    (dropout between layers) -> dropout -> Linear -> event (no output activation: data are
    normalised; the onset and presence outputs gate dt and the slots, :func:`gate_outputs`).
    With ``hypotheses`` K > 1 the last Linear gives K candidate events and their choice
    logits, and one candidate is drawn (:func:`choose`) before gating; ``pitch`` (the data's
    pitch scale) adds :func:`circle_of_fifths` of the previous event to the input. With
    ``semitones`` (the pitch scale again) the free run feeds back each event with its pitches
    rounded to the semitone (:func:`on_semitones`), as teacher forcing feeds real ones; None
    feeds back the raw output, as the paper does. With ``pitch_head`` (the pitch scale again)
    each slot's pitch is drawn from 128 logits over the MIDI numbers (:func:`draw_pitches`)
    instead of regressed (None, the paper's), among the ``top_p`` nucleus of its
    distribution (:func:`crnngan.models.heads.nucleus`); it replaces the candidates, so K must be 1.
    """

    def __init__(self, num_features: int, hidden: int, layers: int, noise_dim: int, dropout: float,
                 tones_per_step: int = 1, hypotheses: int = 1, pitch: PitchScale | None = None,
                 semitones: PitchScale | None = None, pitch_head: PitchScale | None = None,
                 top_p: float = 1.0) -> None:  # fmt: skip
        super().__init__()
        if hypotheses < 1:
            raise ValueError(f"hypotheses must be >= 1, got {hypotheses}")
        if pitch_head is not None and hypotheses > 1:
            raise ValueError(
                f"a categorical pitch head replaces the candidates: hypotheses must be 1, not {hypotheses}"
            )
        self.num_features = num_features
        self.tones_per_step = tones_per_step
        self.hypotheses = hypotheses
        self.pitch = pitch  # None: the previous event is fed as it is, else with its pitch classes
        self.semitones = semitones  # None: the free run feeds back raw pitches, else rounded ones
        self.pitch_head = pitch_head  # None: pitch regressed, else drawn among the MIDI numbers
        self.top_p = top_p  # the categorical head draws among its top_p nucleus (1: all 128)
        self.noise_dim = noise_dim
        self.input = nn.Linear(noise_dim + num_features + num_pitch_classes(tones_per_step, pitch is not None), hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, batch_first=True, dropout=_lstm_dropout(layers, dropout))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, head_width(num_features, hypotheses, tones_per_step, pitch_head is not None))
        # The free-running step loop (free_run or a compiled twin); a plain function, not a
        # bound method or submodule, so a copy of the module shares it safely.
        self.unroll: Callable[..., Tensor] = free_run

    def _head(self, lstm_out: Tensor) -> Tensor:
        """(..., H) LSTM outputs -> (..., head_width(F, K, k, categorical)) raw head outputs."""
        return self.output(self.dropout(lstm_out))

    def forward(self, z: Tensor) -> Tensor:
        """Free-running generation: each step is fed the previous generated event.

        z: (B, T, Z) noise. Returns (B, T, F). The first "previous event" is zeros
        (the normalised all-absent event). The step loop itself is ``self.unroll``:
        :func:`free_run` unless :mod:`crnngan.models.acceleration` swapped in a compiled one.
        """
        batch, steps, _ = z.shape
        # The input layer is linear in concat(z_t, prev), so its noise half (plus bias) is
        # computed for all steps at once and only prev @ W_prev^T is left inside the loop.
        w_noise = self.input.weight[:, : self.noise_dim]
        drive = F.linear(z, w_noise, self.input.bias)  # (B, T, H)
        masks = None
        if self.training and self.dropout.p > 0:
            # Every dropout mask of the unroll in one draw: (T, L, B, H), slot i < L - 1 after
            # LSTM layer i (nn.LSTM's dropout between layers), slot L - 1 before the output
            # layer. Scaled by 1 / (1 - p) as F.dropout does. Drawn outside the loop so a
            # compiled unroll consumes the same random numbers as the eager one.
            masks = F.dropout(
                drive.new_ones(steps, self.lstm.num_layers, batch, self.lstm.hidden_size), self.dropout.p, training=True
            )
        # The uniforms that draw each step's flags (and its pitches or, for K > 1, its
        # candidate), also drawn up front: (T, B, num_uniforms(k, K, categorical)).
        uniforms = num_uniforms(self.tones_per_step, self.hypotheses, self.pitch_head is not None)
        flags = torch.rand(steps, batch, uniforms, device=z.device, dtype=drive.dtype)
        lstm = self.lstm
        layers = [
            [getattr(lstm, f"{name}_l{i}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            for i in range(lstm.num_layers)
        ]
        w_prev = self.input.weight[:, self.noise_dim :]  # (H, F [+ 2k])
        return self.unroll(
            drive,
            masks,
            flags,
            w_prev,
            self.output.weight,
            self.output.bias,
            layers,
            self.tones_per_step,
            self.hypotheses,
            self.pitch,
            self.semitones,
            self.pitch_head,
            self.top_p,
        )

    def teacher_forced(self, z: Tensor, x: Tensor, fed: Tensor | None = None) -> Tensor:
        """Next-event predictions with the real previous event x_{t-1} fed in (zeros at t = 0).

        z: (B, T, Z) noise, x: (B, T, F) real events; ``fed`` (B, T, F), if given, is fed in
        x's place (x perturbed, :func:`crnngan.models.heads.perturb_fed`). Returns
        (B, T, head_width(F, K, k, categorical)) raw head outputs (the onset and presence
        columns are logits; for K > 1, K candidates and their choice logits,
        :func:`split_hypotheses`; then the pitch logits of the categorical head; for
        :func:`crnngan.models.losses.hypotheses_loss`), row t predicting x_t. One nn.LSTM call
        over the whole sequence, since no input depends on an output.
        """
        prev = F.pad((x if fed is None else fed)[:, :-1], (0, 0, 1, 0))  # (B, T, F): shifted right by one step
        prev = with_pitch_classes(prev, self.tones_per_step, self.pitch)  # (B, T, F [+ 2k])
        hidden = torch.relu(self.input(torch.cat([z, prev], dim=-1)))  # (B, T, H)
        out, _ = self.lstm(hidden)  # (B, T, H)
        return self._head(out)


def free_run(
    drive: Tensor,
    masks: Tensor | None,
    flags: Tensor | None,
    w_prev: Tensor,
    w_out: Tensor,
    b_out: Tensor,
    layers: list[list[Tensor]],
    tones_per_step: int = 1,
    hypotheses: int = 1,
    pitch: PitchScale | None = None,
    semitones: PitchScale | None = None,
    pitch_head: PitchScale | None = None,
    top_p: float = 1.0,
) -> Tensor:
    """G's step loop: events (B, T, F), each step fed the previous one.

    drive (B, T, H): the noise half of the input layer plus its bias; masks (T, L, B, H):
    dropout masks (None: no dropout); flags (T, B, num_uniforms(k, K, categorical)): the
    uniforms that draw the onset / presence flags, the pitches of the categorical head and,
    for K > 1, the candidate (None: thresholded at 0.5, the most likely pitch and candidate);
    w_prev (H, F): the input layer's previous-event half; w_out (head_width(F, K, k,
    categorical), H), b_out: the output layer; layers: per LSTM layer nn.LSTM's
    [weight_ih, weight_hh, bias_ih, bias_hh]; tones_per_step: k, for :func:`gate_outputs`;
    hypotheses: K, for :func:`choose`; pitch: the pitch scale of the fed-back pitch classes
    (None: none); semitones: the pitch scale for feeding back pitches rounded to the semitone
    (:func:`on_semitones`; None: as generated); pitch_head: the pitch scale of the categorical
    pitch head (:func:`draw_pitches`; None: pitch regressed); top_p: its nucleus (1: all 128
    numbers). The events returned are never rounded.

    The stack is stepped with the fused cell op on nn.LSTM's own weights: the same maths as
    calling nn.LSTM on length-1 sequences, but forward + backward ran 1.5-3x faster on CPU
    (B 20, T 100, H 350), where each nn.LSTM call has a large fixed cost. A function of
    tensors only (no module, RNG or host sync), so torch.compile traces it into one graph
    and a CUDA graph can replay it.
    """
    batch, steps, hidden = drive.shape
    nf = num_flags(tones_per_step)
    zeros = drive.new_zeros(batch, hidden)
    state = [(zeros, zeros)] * len(layers)  # per layer (h, c), each (B, H)
    num_features = w_prev.shape[1] - num_pitch_classes(tones_per_step, pitch is not None)
    prev = drive.new_zeros(batch, num_features)  # (B, F)
    outputs = []
    for t in range(steps):
        h = torch.relu(torch.addmm(drive[:, t], with_pitch_classes(prev, tones_per_step, pitch), w_prev.t()))  # (B, H)
        for i, w in enumerate(layers):
            if i and masks is not None:
                h = h * masks[t, i - 1]
            state[i] = torch.lstm_cell(h, state[i], *w)
            h = state[i][0]
        if masks is not None:
            h = h * masks[t, -1]
        u = None if flags is None else flags[t]  # (B, num_uniforms)
        raw = F.linear(h, w_out, b_out)  # (B, head_width)
        if pitch_head is not None:  # K = 1: the uniforms after the flags draw the k pitches
            raw = draw_pitches(raw, num_features, tones_per_step, pitch_head, None if u is None else u[:, nf:], top_p)
        raw = choose(raw, hypotheses, None if u is None else u[:, -1])  # (B, F)
        event = gate_outputs(raw, tones_per_step, None if u is None else u[:, :nf])  # (B, F)
        outputs.append(event)
        prev = event if semitones is None else on_semitones(event, tones_per_step, semitones)
    return torch.stack(outputs, dim=1)  # (B, T, F)


class Discriminator(nn.Module):
    """Bidirectional stacked LSTM judging whole sequences.

    Optional dropout on the input features (``input_dropout``; the original code used its
    dropout, 0.5, on real and fake alike, which turns real tones into fake chords (dt = 0) and
    absent tones) -> bi-LSTM (dropout between layers) -> shared Linear(2H, 1) per step ->
    sigmoid -> mean over time. With ``pitch`` given, each event's :func:`circle_of_fifths`
    features are appended to it first, so D can tell a song that leaves its key.

    nn.LSTM feeds both directions of layer 2 with the concatenated layer-1 outputs (2H); the
    original TF code ran separate forward and backward stacks joined only at the output. So at
    H = 350 this D has 3.94 M parameters where the original had 2.96 M (anchors 3.5).
    """

    def __init__(self, num_features: int, hidden: int, layers: int, dropout: float, input_dropout: float = 0.0,
                 tones_per_step: int = 1, pitch: PitchScale | None = None) -> None:  # fmt: skip
        super().__init__()
        self.input_dropout = nn.Dropout(input_dropout)
        self.tones_per_step = tones_per_step
        self.pitch = pitch  # None: events as they are, else with their pitch classes
        self.lstm = nn.LSTM(
            num_features + num_pitch_classes(tones_per_step, pitch is not None),
            hidden,
            layers,
            batch_first=True,
            bidirectional=True,
            dropout=_lstm_dropout(layers, dropout),
        )
        self.classifier = nn.Linear(2 * hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F) -> (probability real (B,), features (B, T, 2H)).

        The features are the bi-LSTM outputs, the last layer before the classifier, which
        feature matching compares (R in the paper).
        """
        x = with_pitch_classes(x, self.tones_per_step, self.pitch)  # (B, T, F [+ 2k])
        features, _ = self.lstm(self.input_dropout(x))  # (B, T, 2H)
        per_step = torch.sigmoid(self.classifier(features)).squeeze(-1)  # (B, T)
        return per_step.mean(dim=1), features
