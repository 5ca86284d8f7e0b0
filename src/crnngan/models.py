"""C-RNN-GAN networks (Mogren 2016): the feed-previous LSTM generator and the bi-LSTM discriminator.

Plain ``nn.Module``s; training lives in :mod:`crnngan.modules`. Shapes: B batch, T time steps,
F features per step (1 + 3 * tones_per_step), Z noise dimension, H hidden units.

Initialisation is PyTorch's default. The original code drew its linear layers from N(0, 1)
on unnormalised inputs (anchors 3.5, 3.9.6); the paper does not state an initialisation.
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def num_parameters(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def _lstm_dropout(layers: int, dropout: float) -> float:
    # nn.LSTM only applies dropout between layers and warns when there is no such place.
    return dropout if layers > 1 else 0.0


class Generator(nn.Module):
    """Unidirectional stacked LSTM fed with uniform noise and its own previous output.

    Per step: concat(z_t, previous event) -> Linear -> ReLU -> LSTM stack (dropout between
    layers) -> dropout -> Linear -> event (no output activation: data are normalised).
    """

    def __init__(self, num_features: int, hidden: int, layers: int, noise_dim: int, dropout: float) -> None:
        super().__init__()
        self.num_features = num_features
        self.noise_dim = noise_dim
        self.input = nn.Linear(noise_dim + num_features, hidden)
        self.lstm = nn.LSTM(hidden, hidden, layers, batch_first=True, dropout=_lstm_dropout(layers, dropout))
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(hidden, num_features)
        # The free-running step loop (free_run or a compiled twin); a plain function, not a
        # bound method or submodule, so a copy of the module shares it safely.
        self.unroll: Callable[..., Tensor] = free_run

    def _head(self, lstm_out: Tensor) -> Tensor:
        """(..., H) LSTM outputs -> (..., F) events."""
        return self.output(self.dropout(lstm_out))

    def forward(self, z: Tensor) -> Tensor:
        """Free-running generation: each step is fed the previous generated event.

        z: (B, T, Z) noise. Returns (B, T, F). The first "previous event" is zeros
        (the normalised all-absent event). The step loop itself is ``self.unroll``:
        :func:`free_run` unless :mod:`crnngan.acceleration` swapped in a compiled one.
        """
        batch, steps, _ = z.shape
        # The input layer is linear in concat(z_t, prev), so its noise half (plus bias) is
        # computed for all steps at once and only prev @ W_prev^T is left inside the loop.
        w_noise = self.input.weight[:, :self.noise_dim]
        drive = F.linear(z, w_noise, self.input.bias)  # (B, T, H)
        masks = None
        if self.training and self.dropout.p > 0:
            # Every dropout mask of the unroll in one draw: (T, L, B, H), slot i < L - 1 after
            # LSTM layer i (nn.LSTM's dropout between layers), slot L - 1 before the output
            # layer. Scaled by 1 / (1 - p) as F.dropout does. Drawn outside the loop so a
            # compiled unroll consumes the same random numbers as the eager one.
            masks = F.dropout(drive.new_ones(steps, self.lstm.num_layers, batch, self.lstm.hidden_size),
                              self.dropout.p, training=True)
        lstm = self.lstm
        layers = [[getattr(lstm, f"{name}_l{i}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
                  for i in range(lstm.num_layers)]
        w_prev = self.input.weight[:, self.noise_dim:]  # (H, F)
        return self.unroll(drive, masks, w_prev, self.output.weight, self.output.bias, layers)

    def teacher_forced(self, z: Tensor, x: Tensor) -> Tensor:
        """Next-event predictions with the real previous event x_{t-1} fed in (zeros at t = 0).

        z: (B, T, Z) noise, x: (B, T, F) real events. Returns (B, T, F), row t predicting x_t.
        One nn.LSTM call over the whole sequence, since no input depends on an output.
        """
        prev = F.pad(x[:, :-1], (0, 0, 1, 0))  # (B, T, F): x shifted right by one step
        hidden = torch.relu(self.input(torch.cat([z, prev], dim=-1)))  # (B, T, H)
        out, _ = self.lstm(hidden)  # (B, T, H)
        return self._head(out)


def free_run(drive: Tensor, masks: Tensor | None, w_prev: Tensor, w_out: Tensor, b_out: Tensor,
             layers: list[list[Tensor]]) -> Tensor:
    """G's step loop: events (B, T, F), each step fed the previous one.

    drive (B, T, H): the noise half of the input layer plus its bias; masks (T, L, B, H):
    dropout masks (None: no dropout); w_prev (H, F): the input layer's previous-event half;
    w_out (F, H), b_out (F,): the output layer; layers: per LSTM layer nn.LSTM's
    [weight_ih, weight_hh, bias_ih, bias_hh].

    The stack is stepped with the fused cell op on nn.LSTM's own weights: the same maths as
    calling nn.LSTM on length-1 sequences, but forward + backward ran 1.5-3x faster on CPU
    (B 20, T 100, H 350), where each nn.LSTM call has a large fixed cost. A function of
    tensors only (no module, RNG or host sync), so torch.compile traces it into one graph
    and a CUDA graph can replay it.
    """
    batch, steps, hidden = drive.shape
    zeros = drive.new_zeros(batch, hidden)
    state = [(zeros, zeros)] * len(layers)  # per layer (h, c), each (B, H)
    prev = drive.new_zeros(batch, w_prev.shape[1])  # (B, F)
    outputs = []
    for t in range(steps):
        h = torch.relu(torch.addmm(drive[:, t], prev, w_prev.t()))  # (B, H)
        for i, w in enumerate(layers):
            if i and masks is not None:
                h = h * masks[t, i - 1]
            state[i] = torch.lstm_cell(h, state[i], *w)
            h = state[i][0]
        if masks is not None:
            h = h * masks[t, -1]
        prev = F.linear(h, w_out, b_out)  # (B, F)
        outputs.append(prev)
    return torch.stack(outputs, dim=1)  # (B, T, F)


class Discriminator(nn.Module):
    """Bidirectional stacked LSTM judging whole sequences.

    Dropout on the input features (real and fake alike, as in the original code) -> bi-LSTM
    (dropout between layers) -> shared Linear(2H, 1) per step -> sigmoid -> mean over time.

    nn.LSTM feeds both directions of layer 2 with the concatenated layer-1 outputs (2H); the
    original TF code ran separate forward and backward stacks joined only at the output. So at
    H = 350 this D has 3.94 M parameters where the original had 2.96 M (anchors 3.5).
    """

    def __init__(self, num_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.input_dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(
            num_features, hidden, layers, batch_first=True, bidirectional=True,
            dropout=_lstm_dropout(layers, dropout),
        )
        self.classifier = nn.Linear(2 * hidden, 1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: (B, T, F) -> (probability real (B,), features (B, T, 2H)).

        The features are the bi-LSTM outputs, the last layer before the classifier, which
        feature matching compares (R in the paper).
        """
        features, _ = self.lstm(self.input_dropout(x))  # (B, T, 2H)
        per_step = torch.sigmoid(self.classifier(features)).squeeze(-1)  # (B, T)
        return per_step.mean(dim=1), features
