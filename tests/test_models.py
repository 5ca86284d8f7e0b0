"""Generator and discriminator: shapes, teacher forcing vs free running, output ranges."""

import pytest
import torch

from crnngan.models import Discriminator, Generator, num_parameters


def make_generator(num_features: int = 4, dropout: float = 0.5) -> Generator:
    torch.manual_seed(0)
    return Generator(num_features, hidden=8, layers=2, noise_dim=4, dropout=dropout)


@pytest.mark.parametrize("num_features", [4, 10])  # k = 1 (C-RNN-GAN) and k = 3 (C-RNN-GAN-3)
def test_generator_shapes(num_features):
    g = make_generator(num_features)
    z = torch.rand(3, 7, 4)
    assert g(z).shape == (3, 7, num_features)
    assert g.teacher_forced(z, torch.randn(3, 7, num_features)).shape == (3, 7, num_features)


def test_free_running_equals_teacher_forcing_on_its_own_output():
    # Feeding G's own outputs back as the "real" previous events reproduces free running.
    g = make_generator().eval()
    z = torch.rand(2, 9, 4)
    with torch.no_grad():
        free = g(z)
        forced = g.teacher_forced(z, free)
    torch.testing.assert_close(forced, free, atol=1e-5, rtol=1e-5)


def test_teacher_forcing_is_causal_and_starts_from_zeros():
    g = make_generator().eval()
    z = torch.rand(2, 6, 4)
    x = torch.randn(2, 6, 4)
    changed = x.clone()
    changed[:, 3] += 1.0
    with torch.no_grad():
        a, b = g.teacher_forced(z, x), g.teacher_forced(z, changed)
        free = g(z)
    torch.testing.assert_close(a[:, :4], b[:, :4])  # x_3 only feeds predictions from t = 4 on
    assert not torch.allclose(a[:, 4], b[:, 4])
    torch.testing.assert_close(a[:, 0], free[:, 0], atol=1e-6, rtol=1e-6)  # previous event at t=0 is zeros


def test_generator_dropout_only_in_train_mode():
    g = make_generator()
    z = torch.rand(2, 5, 4)
    with torch.no_grad():
        assert not torch.equal(g(z), g(z))
        g.eval()
        assert torch.equal(g(z), g(z))


@pytest.mark.parametrize("num_features", [4, 10])
def test_discriminator_outputs(num_features):
    torch.manual_seed(0)
    d = Discriminator(num_features, hidden=8, layers=2, dropout=0.5)
    prob, feats = d(torch.randn(5, 7, num_features) * 10)
    assert prob.shape == (5,)
    assert feats.shape == (5, 7, 16)
    assert torch.all((prob > 0) & (prob < 1))


def test_discriminator_features_are_last_bilstm_layer():
    torch.manual_seed(0)
    d = Discriminator(4, hidden=8, layers=2, dropout=0.0).eval()
    x = torch.randn(2, 5, 4)
    prob, feats = d(x)
    torch.testing.assert_close(feats, d.lstm(x)[0])
    torch.testing.assert_close(prob, torch.sigmoid(d.classifier(feats)).squeeze(-1).mean(1))


def test_single_layer_builds_without_interlayer_dropout():
    assert Generator(4, 8, 1, 4, 0.5).lstm.dropout == 0.0
    assert Discriminator(4, 8, 1, 0.5).lstm.dropout == 0.0


def test_paper_size_generator_parameter_count():
    # h = 350, 2 layers, F = 4, k = 4: 8*350+350 + 2*(4*350*700 + 2*4*350) + 350*4+4.
    g = Generator(4, hidden=350, layers=2, noise_dim=4, dropout=0.5)
    assert num_parameters(g) == 3150 + 2 * (980_000 + 2800) + 1404 == 1_970_154
