"""The benchmark's reference networks (nn.LSTMCell stacks, the paper's plain design) compute
the same function as ours, so reference_ms / ours_ms compares like with like."""

import pytest
import torch

from benchmarks.reference import reference_discriminator, reference_generator
from crnngan.data.representation import feature_width
from crnngan.models.networks import Discriminator, Generator


def seeded(generator, z):
    """Free running with the flags' uniforms drawn from a fixed seed (both draw them alike)."""
    torch.manual_seed(11)
    return generator(z)


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("tones", [1, 3])
def test_reference_generator_matches_ours(layers, tones):
    torch.manual_seed(0)
    num_features = feature_width(tones)
    g = Generator(num_features, hidden=8, layers=layers, noise_dim=4, dropout=0.5, tones_per_step=tones).eval()
    ref = reference_generator(g)
    assert not ref.training
    z, x = torch.rand(3, 7, 4), torch.randn(3, 7, num_features)
    torch.testing.assert_close(seeded(ref, z), seeded(g, z), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ref.teacher_forced(z, x), g.teacher_forced(z, x), atol=1e-5, rtol=1e-5)
    # Same gradients too, so the timed backward passes do the same work.
    seeded(g, z).square().sum().backward()
    seeded(ref, z).square().sum().backward()
    torch.testing.assert_close(
        ref.cells[-1].weight_hh.grad, getattr(g.lstm, f"weight_hh_l{layers - 1}").grad, atol=1e-4, rtol=1e-4
    )
    torch.testing.assert_close(ref.input.weight.grad, g.input.weight.grad, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_reference_discriminator_matches_ours(layers):
    torch.manual_seed(0)
    d = Discriminator(4, hidden=6, layers=layers, dropout=0.5).eval()
    ref = reference_discriminator(d)
    x = torch.randn(5, 9, 4, requires_grad=True)
    prob, feats = d(x)
    ref_prob, ref_feats = ref(x)
    torch.testing.assert_close(ref_prob, prob, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ref_feats, feats, atol=1e-5, rtol=1e-5)
    (grad,) = torch.autograd.grad(feats.square().sum() + prob.sum(), x)
    (ref_grad,) = torch.autograd.grad(ref_feats.square().sum() + ref_prob.sum(), x)
    torch.testing.assert_close(ref_grad, grad, atol=1e-4, rtol=1e-4)


def test_reference_without_dropout_matches_in_training_mode():
    # With dropout 0, train mode (what the benchmark times) is the same function as well.
    torch.manual_seed(1)
    g = Generator(feature_width(1), hidden=8, layers=2, noise_dim=4, dropout=0.0)
    z = torch.rand(2, 5, 4)
    torch.testing.assert_close(seeded(reference_generator(g), z), seeded(g, z), atol=1e-5, rtol=1e-5)
