"""Generator and discriminator: shapes, teacher forcing vs free running, output ranges."""

import math

import pytest
import torch

from crnngan.data.representation import feature_width
from crnngan.models.heads import (
    MIDI_PITCHES,
    choose,
    circle_of_fifths,
    draw_pitches,
    gate_outputs,
    head_width,
    nucleus,
    num_flags,
    num_uniforms,
    on_semitones,
    perturb_fed,
    with_pitch_classes,
)
from crnngan.models.networks import Discriminator, Generator, num_parameters


def make_generator(tones: int = 1, dropout: float = 0.5) -> Generator:
    torch.manual_seed(0)
    return Generator(feature_width(tones), hidden=8, layers=2, noise_dim=4, dropout=dropout, tones_per_step=tones)


@pytest.mark.parametrize("tones", [1, 3])  # C-RNN-GAN and C-RNN-GAN-3
def test_generator_shapes(tones):
    num_features = feature_width(tones)
    g = make_generator(tones)
    z = torch.rand(3, 7, 4)
    assert g(z).shape == (3, 7, num_features)
    assert g.teacher_forced(z, torch.randn(3, 7, num_features)).shape == (3, 7, num_features)


@pytest.mark.parametrize("tones", [1, 3])
def test_free_running_equals_teacher_forcing_on_its_own_output(tones):
    # Feeding G's own (gated) outputs back as the "real" previous events reproduces free
    # running; teacher forcing returns the raw head, so gate it the same way.
    g = make_generator(tones).eval()
    z = torch.rand(2, 9, 4)
    with torch.no_grad():
        torch.manual_seed(5)
        free = g(z)
        torch.manual_seed(5)  # the uniforms G drew for its flags: (T, B, flags), its only draw in eval mode
        u = torch.rand(9, 2, num_flags(tones)).transpose(0, 1)
        forced = gate_outputs(g.teacher_forced(z, free), tones, u)
    torch.testing.assert_close(forced, free, atol=1e-5, rtol=1e-5)


def test_teacher_forcing_is_causal_and_starts_from_zeros():
    g = make_generator().eval()
    z = torch.rand(2, 6, 4)
    x = torch.randn(2, 6, 5)
    changed = x.clone()
    changed[:, 3] += 1.0
    with torch.no_grad():
        a, b = g.teacher_forced(z, x), g.teacher_forced(z, changed)
        torch.manual_seed(5)
        free = g(z)
        torch.manual_seed(5)
        u = torch.rand(6, 2, 1)  # the uniforms of G's onset flags, (T, B, 1)
    torch.testing.assert_close(a[:, :4], b[:, :4])  # x_3 only feeds predictions from t = 4 on
    assert not torch.allclose(a[:, 4], b[:, 4])
    # The previous event at t = 0 is zeros either way.
    torch.testing.assert_close(gate_outputs(a[:, 0], 1, u[0]), free[:, 0], atol=1e-6, rtol=1e-6)


def test_generator_dropout_only_in_train_mode():
    g = make_generator()
    z = torch.rand(2, 5, 4)

    def seeded() -> torch.Tensor:  # G's own draws (dropout masks, flags) from a fixed seed
        torch.manual_seed(3)
        return g(z)

    with torch.no_grad():
        train = seeded()
        g.eval()
        assert torch.equal(seeded(), seeded()) and not torch.equal(seeded(), train)
        assert not torch.equal(g(z), g(z))  # still a distribution: the flags are drawn


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


def test_gates_make_exact_flags_and_zeros_with_the_sigmoid_gradient():
    # k = 2 raw head: [dt, onset logit, (length, pitch, velocity, presence logit) x 2]
    raw = torch.tensor([[0.7, -3.0, 1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0, -3.0]], requires_grad=True)
    out = gate_outputs(raw, 2)  # thresholded (no uniforms)
    # onset p = sigmoid(-3) < 0.5: a chord member, dt exactly 0; slot 1 sounds, slot 2 is
    # exactly absent (all zeros, presence 0) as an absent real slot.
    torch.testing.assert_close(out.detach(), torch.tensor([[0.0, 0.0, 1.0, 2.0, 3.0, 1.0, 0.0, 0.0, 0.0, 0.0]]))
    # Straight-through: d out / d logit is the sigmoid's slope times what the gate multiplies.
    out[0, 3].backward()  # slot 1's pitch = 2 * gate(3)
    slope = torch.sigmoid(torch.tensor(3.0)) * (1 - torch.sigmoid(torch.tensor(3.0)))
    torch.testing.assert_close(raw.grad[0, 5], 2.0 * slope)
    torch.testing.assert_close(raw.grad[0, 3], torch.tensor(1.0))
    k1 = torch.tensor([[0.5, 2.0, 1.0, 2.0, 3.0]])  # onset logit 2: a new onset, the flag becomes 1
    torch.testing.assert_close(gate_outputs(k1, 1), torch.tensor([[0.5, 1.0, 1.0, 2.0, 3.0]]))


def test_flags_are_drawn_with_their_probability():
    # Free running draws each flag: 1 where u < sigmoid(logit). A chord probability of 0.4 must
    # give chords 40% of the time, where thresholding at 0.5 would give none.
    logit = torch.logit(torch.tensor(0.4))
    raw = torch.tensor([0.5, float(logit), 1.0, 2.0, 3.0]).expand(5, 5)  # (5 steps, F)
    u = torch.tensor([[0.1], [0.39], [0.41], [0.7], [0.99]])
    onset = gate_outputs(raw, 1, u)[:, 1]
    torch.testing.assert_close(onset, torch.tensor([1.0, 1.0, 0.0, 0.0, 0.0]))


def test_choose_draws_a_candidate_with_its_probability_straight_through():
    # K = 2, F = 2: [logit_0, logit_1, candidate_0, candidate_1]; p = (0.25, 0.75).
    logits = torch.tensor([0.0, math.log(3.0)], requires_grad=True)
    candidates = torch.tensor([[1.0, 2.0], [5.0, 6.0]])
    out = torch.cat([logits, candidates.flatten()])
    assert choose(out, 2, torch.tensor(0.2)).tolist() == [1.0, 2.0]  # u < 0.25: candidate 0
    assert choose(out, 2, torch.tensor(0.3)).tolist() == [5.0, 6.0]
    assert choose(out, 2, None).tolist() == [5.0, 6.0]  # the most likely
    assert choose(out, 2, torch.tensor(0.999999)).tolist() == [5.0, 6.0]
    choose(out, 2, torch.tensor(0.3)).sum().backward()
    # d/dlogit of sum_k p_k * sum(candidate_k) = p_0 p_1 (sum c_1 - sum c_0) for logit 1
    assert logits.grad.tolist() == pytest.approx([-0.1875 * 8, 0.1875 * 8])
    assert torch.equal(choose(candidates, 1, None), candidates)  # K = 1: the head is the event


def test_candidates_are_drawn_with_their_probability():
    out = torch.tensor([0.0, math.log(3.0), 1.0, 5.0]).expand(4000, 4)  # K = 2, F = 1
    torch.manual_seed(0)
    picks = choose(out, 2, torch.rand(4000))
    assert (picks == 5.0).float().mean().item() == pytest.approx(0.75, abs=0.03)


def test_draw_pitches_plays_a_midi_number_with_its_probability_straight_through():
    # k = 1, F = 5, MIDI scale (60, 12): p(62) = 0.25, p(67) = 0.75, every other number ~0.
    event = torch.tensor([0.1, 1.0, 0.2, 9.0, 0.3])  # its own pitch output (9.0) is not used
    logits = torch.full((MIDI_PITCHES,), -100.0)
    logits[62], logits[67] = 0.0, math.log(3.0)
    logits.requires_grad_(True)
    out = torch.cat([event, logits])
    scale = ("midi", 60.0, 12.0)
    low, high = (62 - 60) / 12, (67 - 60) / 12
    assert draw_pitches(out, 5, 1, scale, torch.tensor([0.2])).tolist() == pytest.approx([0.1, 1.0, 0.2, low, 0.3])
    assert draw_pitches(out, 5, 1, scale, torch.tensor([0.3]))[3].item() == pytest.approx(high)
    assert draw_pitches(out, 5, 1, scale, None)[3].item() == pytest.approx(high)  # the most likely
    draw_pitches(out, 5, 1, scale, torch.tensor([0.3]))[3].backward()
    # d/dlogit_67 of sum_m p_m feature(m) = p_62 p_67 (feature(67) - feature(62)) = 0.1875 * 5 / 12
    assert logits.grad[67].item() == pytest.approx(0.1875 * 5 / 12, abs=1e-6)
    assert logits.grad[62].item() == pytest.approx(-0.1875 * 5 / 12, abs=1e-6)
    # On the frequency scale the number is converted: A4 (69) is 440 Hz.
    hz = draw_pitches(torch.cat([event, torch.eye(MIDI_PITCHES)[69] * 50]), 5, 1, ("frequency", 400.0, 100.0))
    assert hz[3].item() == pytest.approx(0.4, abs=1e-5)


def test_nucleus_keeps_the_most_likely_classes_up_to_top_p_renormalised():
    # Classes in no order: p = (0.15, 0.5, 0.05, 0.3); ranked 0.5, 0.3, 0.15, 0.05 with the mass
    # before each 0, 0.5, 0.8, 0.95. A class stays while the mass before it is under top_p.
    p = torch.tensor([0.15, 0.5, 0.05, 0.3])
    torch.testing.assert_close(nucleus(p, 0.4), torch.tensor([0.0, 1.0, 0.0, 0.0]))  # the top one always stays
    torch.testing.assert_close(nucleus(p, 0.7), torch.tensor([0.0, 0.625, 0.0, 0.375]))  # 0.5, 0.3 / 0.8
    torch.testing.assert_close(nucleus(p, 0.85), torch.tensor([0.15, 0.5, 0.0, 0.3]) / 0.95)
    torch.testing.assert_close(nucleus(p.expand(2, 4), 0.99), p.expand(2, 4))  # per row; all four kept


def test_draw_pitches_with_top_p_never_plays_the_tail():
    # p(62) = 0.25, p(67) = 0.75: with top_p 0.7 only 67 is left, so u = 0.2, which plays 62 from
    # the whole distribution, plays 67; the draw is then certain, so no gradient reaches the
    # logits (without the nucleus: 0.1875 * 5 / 12 = 0.078, the test above).
    event = torch.tensor([0.1, 1.0, 0.2, 9.0, 0.3])
    logits = torch.full((MIDI_PITCHES,), -100.0)
    logits[62], logits[67] = 0.0, math.log(3.0)
    logits.requires_grad_(True)
    out = torch.cat([event, logits])
    scale = ("midi", 60.0, 12.0)
    assert draw_pitches(out, 5, 1, scale, torch.tensor([0.2]))[3].item() == pytest.approx(2 / 12)
    played = draw_pitches(out, 5, 1, scale, torch.tensor([0.2]), top_p=0.7)[3]
    assert played.item() == pytest.approx(7 / 12)
    played.backward()
    assert logits.grad.abs().max().item() < 1e-6  # float rounding of the renormalised 1
    # At 0.8 both stay, as without a nucleus (their mass is 1 - 126 e^-100).
    assert draw_pitches(out, 5, 1, scale, torch.tensor([0.2]), top_p=0.8)[3].item() == pytest.approx(2 / 12)


def test_draw_pitches_fills_each_slot_for_k_above_one():
    # k = 2, F = 10: slot 0 plays 48, slot 1 plays 72 (thresholded); dt, onset and the rest kept.
    event = torch.arange(10.0)
    logits = torch.zeros(2, MIDI_PITCHES)
    logits[0, 48], logits[1, 72] = 50.0, 50.0
    out = draw_pitches(torch.cat([event, logits.flatten()]), 10, 2, ("midi", 60.0, 12.0))
    assert out.tolist() == pytest.approx([0, 1, 2, -1.0, 4, 5, 6, 1.0, 8, 9])
    assert head_width(10, 1, 2, True) == 10 + 2 * MIDI_PITCHES
    assert num_uniforms(2, 1, True) == 3 + 2  # onset + 2 presence flags, then one per slot's pitch


@pytest.mark.parametrize(("tones", "top_p"), [(1, 1.0), (3, 1.0), (1, 0.6)])
def test_generator_with_categorical_pitch_plays_integers_and_matches_teacher_forcing(tones, top_p):
    torch.manual_seed(0)
    num_features = feature_width(tones)
    scale = ("midi", 60.0, 12.0)
    g = Generator(num_features, 8, 2, 4, 0.0, tones, pitch=scale, pitch_head=scale, top_p=top_p).eval()
    z = torch.rand(2, 9, 4)
    assert g.teacher_forced(z, torch.randn(2, 9, num_features)).shape == (2, 9, num_features + tones * MIDI_PITCHES)
    with torch.no_grad():
        torch.manual_seed(5)
        free = g(z)
        torch.manual_seed(5)  # the uniforms G drew: flags, then each slot's pitch, (T, B, flags + k)
        u = torch.rand(9, 2, num_uniforms(tones, 1, True)).transpose(0, 1)
        nf = num_flags(tones)
        raw = draw_pitches(g.teacher_forced(z, free), num_features, tones, scale, u[..., nf:], top_p)
        forced = gate_outputs(raw, tones, u[..., :nf])
    torch.testing.assert_close(forced, free, atol=1e-5, rtol=1e-5)
    midi = free[..., 3] * 12 + 60 if tones == 1 else free[..., 2:].unflatten(-1, (tones, 4))[..., 1] * 12 + 60
    torch.testing.assert_close(midi, midi.round(), atol=1e-4, rtol=0)  # every pitch a MIDI number
    assert midi.unique().numel() > 3  # drawn, not the one most likely pitch
    with pytest.raises(ValueError, match="hypotheses must be 1"):
        Generator(num_features, 8, 2, 4, 0.0, tones, hypotheses=2, pitch_head=scale)


@pytest.mark.parametrize("tones", [1, 3])
def test_generator_with_hypotheses_shapes_and_free_running(tones):
    torch.manual_seed(0)
    num_features = feature_width(tones)
    g = Generator(num_features, hidden=8, layers=2, noise_dim=4, dropout=0.0, tones_per_step=tones, hypotheses=3).eval()
    z = torch.rand(2, 9, 4)
    assert g.teacher_forced(z, torch.randn(2, 9, num_features)).shape == (2, 9, 3 * (num_features + 1))
    with torch.no_grad():
        torch.manual_seed(5)
        free = g(z)
        torch.manual_seed(5)  # the uniforms G drew: flags, then the candidate, (T, B, flags + 1)
        u = torch.rand(9, 2, num_uniforms(tones, 3)).transpose(0, 1)
        forced = gate_outputs(choose(g.teacher_forced(z, free), 3, u[..., -1]), tones, u[..., :-1])
    assert free.shape == (2, 9, num_features)
    torch.testing.assert_close(forced, free, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="hypotheses must be >= 1"):
        Generator(num_features, 8, 2, 4, 0.0, tones, hypotheses=0)


def test_circle_of_fifths_puts_a_scale_on_one_arc():
    # k = 1 events [dt, onset, length, pitch, velocity], pitch standardised as (m - 60) / 12.
    scale = ("midi", 60.0, 12.0)
    midi = torch.tensor([65.0, 60.0, 67.0, 62.0, 69.0, 64.0, 71.0, 61.0])  # F C G D A E B, then C#
    x = torch.zeros(8, 5)
    x[:, 3] = (midi - 60.0) / 12.0
    angles = torch.atan2(*circle_of_fifths(x, 1, scale).T.flip(0)) * 180 / math.pi  # (8,) degrees
    # C major is seven neighbours 30 degrees apart; C# lies opposite C (7 x 1 semitone = 210 degrees).
    assert angles.tolist() == pytest.approx([-30, 0, 30, 60, 90, 120, 150, -150], abs=1e-3)
    # Hz: 440 Hz is A4 (69), at 90 degrees; an absent slot (k = 2) has no place.
    hz = torch.tensor([[0.0, 1.0, 1.0, (440.0 - 400.0) / 80.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(
        circle_of_fifths(hz, 2, ("frequency", 400.0, 80.0)), torch.tensor([[0.0, 1.0, 0.0, 0.0]]), atol=1e-5, rtol=0
    )
    assert with_pitch_classes(x, 1, None) is x and with_pitch_classes(x, 1, scale).shape == (8, 7)


def test_on_semitones_rounds_sounding_pitches_straight_through():
    # k = 1, pitch standardised as (m - 60) / 12: 61.4 -> 61 and 62.6 -> 63; the rest untouched.
    scale = ("midi", 60.0, 12.0)
    x = torch.tensor([[0.5, 1.0, 0.3, 1.4 / 12, 0.2], [0.0, 0.0, 0.1, 2.6 / 12, -0.4]], requires_grad=True)
    y = on_semitones(x, 1, scale)
    expected = x.detach().clone()
    expected[:, 3] = torch.tensor([1.0, 3.0]) / 12
    torch.testing.assert_close(y, expected)
    y.sum().backward()  # the gradient passes as if nothing were rounded
    torch.testing.assert_close(x.grad, torch.ones_like(x))
    # k = 2 in Hz: 450 Hz is 69.39 -> A4, 440 Hz; an absent slot stays all zeros.
    hz = ("frequency", 400.0, 80.0)
    slots = torch.tensor([[1.0, 1.0, 0.5, (450.0 - 400.0) / 80, 0.7, 1.0, 0.0, 0.0, 0.0, 0.0]])
    rounded = on_semitones(slots, 2, hz)
    expected = slots.clone()
    expected[0, 3] = (440.0 - 400.0) / 80
    torch.testing.assert_close(rounded, expected)


def test_generator_feeds_back_semitones_but_returns_its_raw_output():
    # Fed back rounded pitches, free running equals teacher forcing on the rounded output,
    # while the output itself keeps G's real-valued pitches. A tenth of a semitone per unit,
    # so that rounding moves what an untrained G is fed by whole units.
    scale = ("midi", 60.3, 0.1)
    torch.manual_seed(0)
    g = Generator(5, hidden=8, layers=2, noise_dim=4, dropout=0.0, semitones=scale).eval()
    z = torch.rand(2, 9, 4)
    with torch.no_grad():
        torch.manual_seed(5)
        free = g(z)
        torch.manual_seed(5)
        u = torch.rand(9, 2, 1).transpose(0, 1)
        forced = gate_outputs(g.teacher_forced(z, on_semitones(free, 1, scale)), 1, u)
        torch.manual_seed(5)
        raw_fed = gate_outputs(g.teacher_forced(z, free), 1, u)
    torch.testing.assert_close(forced, free, atol=1e-5, rtol=1e-5)
    midi = free[..., 3] * 0.1 + 60.3
    assert (midi - midi.round()).abs().max() > 0.01  # the output is not rounded
    assert (raw_fed - free).abs().max() > 0.01  # and what G is fed back matters


def test_perturb_fed_moves_only_values_that_exist_and_keeps_every_zero():
    # k = 1, [dt, onset, length, pitch, velocity]: an onset and a chord member (dt exactly 0).
    x = torch.tensor([[0.5, 1.0, 0.3, 0.4, 0.2], [0.0, 0.0, 0.1, -0.2, -0.4]])
    torch.manual_seed(3)
    y = perturb_fed(x, 1, 0.5)
    torch.manual_seed(3)
    noise = 0.5 * torch.randn_like(x)
    expected = x.clone()
    expected[0, [0, 2, 4]] += noise[0, [0, 2, 4]]  # the onset's dt, length and velocity
    expected[1, [2, 4]] += noise[1, [2, 4]]  # the chord member keeps dt = 0
    torch.testing.assert_close(y, expected)
    assert (y[:, [1, 3]] == x[:, [1, 3]]).all()  # flags and pitches exactly as fed
    # k = 2, [dt, onset, (length, pitch, velocity, presence) x 2]: slot 2 absent stays all zeros.
    slots = torch.tensor([[0.5, 1.0, 0.3, 0.4, 0.2, 1.0, 0.0, 0.0, 0.0, 0.0]])
    torch.manual_seed(3)
    y = perturb_fed(slots, 2, 0.5)
    torch.manual_seed(3)
    noise = 0.5 * torch.randn_like(slots)
    expected = slots.clone()
    expected[0, [0, 2, 4]] += noise[0, [0, 2, 4]]
    torch.testing.assert_close(y, expected)
    assert (y[0, 6:] == 0).all()


def test_teacher_forcing_predicts_from_what_it_is_fed():
    # fed replaces x as the previous events: the predictions are those of teacher forcing on fed.
    g = make_generator().eval()
    z, x, other = torch.rand(2, 6, 4), torch.randn(2, 6, 5), torch.randn(2, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(g.teacher_forced(z, x, other), g.teacher_forced(z, other))
        assert not torch.allclose(g.teacher_forced(z, x, other), g.teacher_forced(z, x))


def test_categorical_pretraining_learns_a_line_and_plays_it():
    # A two-note line, 60 67 60 67 ... on a (64, 4) scale: teacher-forced cross-entropy
    # training, then free running must play the line, on exact MIDI numbers, for every z.
    from crnngan.models.losses import categorical_pitch_loss

    torch.manual_seed(0)
    scale = ("midi", 64.0, 4.0)
    x = torch.zeros(8, 12, 5)
    x[..., 0], x[..., 1], x[..., 2], x[..., 4] = 0.5, 1.0, 0.5, 0.2  # dt, onset, length, velocity
    x[:, 0::2, 3], x[:, 1::2, 3] = -1.0, 0.75  # MIDI 60, 67
    g = Generator(5, 16, 1, 4, 0.0, pitch=scale, pitch_head=scale)
    opt = torch.optim.Adam(g.parameters(), lr=0.03)
    for _ in range(150):
        opt.zero_grad()
        categorical_pitch_loss(g.teacher_forced(torch.rand(8, 12, 4), x), x, 1, scale).backward()
        opt.step()
    with torch.no_grad():
        played = g.eval()(torch.rand(16, 12, 4))[..., 3] * 4.0 + 64.0  # (16, 12) MIDI numbers
    assert torch.equal(played, torch.tensor([60.0, 67.0]).repeat(6).expand(16, 12))  # exact: drawn, not regressed
