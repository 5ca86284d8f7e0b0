"""The reference networks the benchmark times ours against (reference_ms / ours_ms).

:class:`ReferenceGenerator` and :class:`ReferenceDiscriminator` are the straightforward way
to write the same networks: one ``nn.LSTMCell`` call per layer, direction and time step in
eager PyTorch. :func:`benchmarks.training_step.bench_training_step` times them through the
very same module and Trainer (its networks swapped in), so the speed-up isolates the network
implementation; tests/bench/test_reference.py checks that they compute our networks' function.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from crnngan.models.heads import gate_outputs, num_flags
from crnngan.models.networks import Discriminator, Generator


class ReferenceGenerator(nn.Module):
    """:class:`~crnngan.models.networks.Generator` as a per-step ``nn.LSTMCell`` loop, no fusion.

    Same function: concat(z_t, previous event) -> Linear -> ReLU -> LSTMCell stack (dropout
    between layers) -> dropout -> Linear -> the onset / presence gates when free running.
    Parameter names mirror the cells, not nn.LSTM's.
    """

    def __init__(
        self, num_features: int, hidden: int, layers: int, noise_dim: int, dropout: float, tones_per_step: int = 1
    ) -> None:
        super().__init__()
        self.num_features = num_features
        self.tones_per_step = tones_per_step
        self.hidden = hidden
        self.dropout = dropout
        self.input = nn.Linear(noise_dim + num_features, hidden)
        self.cells = nn.ModuleList(nn.LSTMCell(hidden, hidden) for _ in range(layers))
        self.output = nn.Linear(hidden, num_features)

    def _step(
        self, z_t: Tensor, prev: Tensor, state: list[tuple[Tensor, Tensor]]
    ) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """z_t (B, Z), prev (B, F), per-layer (h, c) each (B, H) -> event (B, F), new state."""
        h = torch.relu(self.input(torch.cat([z_t, prev], dim=-1)))  # (B, H)
        new_state = []
        for i, cell in enumerate(self.cells):
            if i:
                h = F.dropout(h, self.dropout, self.training)
            h, c = cell(h, state[i])
            new_state.append((h, c))
        return self.output(F.dropout(h, self.dropout, self.training)), new_state

    def _initial(self, z: Tensor) -> tuple[Tensor, list[tuple[Tensor, Tensor]]]:
        """Zero previous event (B, F) and zero (h, c) (B, H) per layer."""
        zeros = z.new_zeros(z.shape[0], self.hidden)
        return z.new_zeros(z.shape[0], self.num_features), [(zeros, zeros)] * len(self.cells)

    def forward(self, z: Tensor) -> Tensor:
        """Free running: z (B, T, Z) -> (B, T, F), each step fed the previous output."""
        prev, state = self._initial(z)
        # The flags' uniforms, drawn as the Generator draws them: (T, B, flags) in one call.
        flags = torch.rand(z.shape[1], z.shape[0], num_flags(self.tones_per_step), device=z.device, dtype=z.dtype)
        outputs = []
        for t in range(z.shape[1]):
            out, state = self._step(z[:, t], prev, state)
            prev = gate_outputs(out, self.tones_per_step, flags[t])
            outputs.append(prev)
        return torch.stack(outputs, dim=1)

    def teacher_forced(self, z: Tensor, x: Tensor, fed: Tensor | None = None) -> Tensor:
        """z (B, T, Z), x (B, T, F) -> (B, T, F), step t fed the real x_{t-1} (zeros at t = 0),
        or ``fed``'s (B, T, F) event t - 1 in its place if given (teacher_noise)."""
        prev, state = self._initial(z)
        x = x if fed is None else fed
        outputs = []
        for t in range(z.shape[1]):
            out, state = self._step(z[:, t], x[:, t - 1] if t else prev, state)
            outputs.append(out)
        return torch.stack(outputs, dim=1)


class ReferenceDiscriminator(nn.Module):
    """:class:`~crnngan.models.networks.Discriminator` as explicit forward and backward ``nn.LSTMCell``
    stacks stepped one time step at a time.

    As in nn.LSTM(bidirectional=True), layer l > 0 of both directions reads the concatenated
    (forward, backward) outputs of layer l - 1, so the directions are joined after every layer.
    """

    def __init__(self, num_features: int, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.hidden = hidden
        self.dropout = dropout
        sizes = [num_features] + [2 * hidden] * (layers - 1)  # input width of each layer
        self.forward_cells = nn.ModuleList(nn.LSTMCell(n, hidden) for n in sizes)
        self.backward_cells = nn.ModuleList(nn.LSTMCell(n, hidden) for n in sizes)
        self.classifier = nn.Linear(2 * hidden, 1)

    def _run(self, cell: nn.LSTMCell, x: Tensor, reverse: bool) -> Tensor:
        """One direction of one layer: x (B, T, in) -> outputs (B, T, H) in time order."""
        h = c = x.new_zeros(x.shape[0], self.hidden)
        outputs: list[Tensor] = [h] * x.shape[1]
        for t in reversed(range(x.shape[1])) if reverse else range(x.shape[1]):
            h, c = cell(x[:, t], (h, c))
            outputs[t] = h
        return torch.stack(outputs, dim=1)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x (B, T, F) -> (probability real (B,), features (B, T, 2H))."""
        h = F.dropout(x, self.dropout, self.training)
        for i, (fwd, bwd) in enumerate(zip(self.forward_cells, self.backward_cells)):
            if i:  # nn.LSTM's dropout between layers
                h = F.dropout(h, self.dropout, self.training)
            h = torch.cat([self._run(fwd, h, False), self._run(bwd, h, True)], dim=-1)  # (B, T, 2H)
        per_step = torch.sigmoid(self.classifier(h)).squeeze(-1)  # (B, T)
        return per_step.mean(dim=1), h


def _copy_cell(cell: nn.LSTMCell, lstm: nn.LSTM, suffix: str) -> None:
    """Copy nn.LSTM's weights of one layer and direction (``suffix`` "l0", "l1_reverse", ...)
    into ``cell``; both use the gate order (input, forget, cell, output)."""
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data.copy_(getattr(lstm, f"{name}_{suffix}").data)


@torch.no_grad()
def reference_generator(g: Generator) -> ReferenceGenerator:
    """A :class:`ReferenceGenerator` holding a copy of ``g``'s weights (same device, mode);
    ``g`` must be the paper's plain network (one regression output, no pitch classes, its raw output fed back)."""
    if g.hypotheses != 1 or g.pitch_head is not None or g.pitch is not None or g.semitones is not None:
        raise ValueError("the reference generator has one output, no pitch classes and feeds back its raw output")
    lstm = g.lstm
    # nn.LSTM holds 0 dropout for one layer; the head uses g.dropout either way.
    ref = ReferenceGenerator(
        g.num_features, lstm.hidden_size, lstm.num_layers, g.noise_dim, g.dropout.p, g.tones_per_step
    )
    ref.to(g.input.weight.device).train(g.training)
    ref.input.load_state_dict(g.input.state_dict())
    ref.output.load_state_dict(g.output.state_dict())
    for i, cell in enumerate(ref.cells):
        _copy_cell(cell, lstm, f"l{i}")
    return ref


@torch.no_grad()
def reference_discriminator(d: Discriminator) -> ReferenceDiscriminator:
    """A :class:`ReferenceDiscriminator` holding a copy of ``d``'s weights (same device, mode)."""
    if d.pitch is not None:
        raise ValueError("the reference discriminator sees no pitch classes")
    lstm = d.lstm
    ref = ReferenceDiscriminator(lstm.input_size, lstm.hidden_size, lstm.num_layers, d.input_dropout.p)
    ref.to(d.classifier.weight.device).train(d.training)
    ref.classifier.load_state_dict(d.classifier.state_dict())
    for i in range(lstm.num_layers):
        _copy_cell(ref.forward_cells[i], lstm, f"l{i}")
        _copy_cell(ref.backward_cells[i], lstm, f"l{i}_reverse")
    return ref
