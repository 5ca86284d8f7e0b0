"""Loss values on hand-made inputs and the freezing table."""

import math

import pytest
import torch

from crnngan.models.heads import MIDI_PITCHES
from crnngan.models.losses import (
    EPS,
    categorical_pitch_loss,
    discriminator_loss,
    feature_matching_loss,
    freeze_by_accuracy,
    freeze_decision,
    generator_loss,
    hypotheses_loss,
    next_event_loss,
    pitch_errors,
)


def test_discriminator_loss_values():
    p_real = torch.tensor([0.9, 0.5])
    p_fake = torch.tensor([0.1, 0.5])
    # sample 1: -log .9 - log .9; sample 2: -log .5 - log .5
    expected = (-2 * math.log(0.9) - 2 * math.log(0.5)) / 2
    assert discriminator_loss(p_real, p_fake).item() == pytest.approx(expected, rel=1e-6)


def test_discriminator_loss_label_smoothing_is_one_sided():
    p_real = torch.tensor([0.9])
    p_fake = torch.tensor([0.2])
    expected = -(0.9 * math.log(0.9) + 0.1 * math.log(0.1)) - math.log(0.8)
    assert discriminator_loss(p_real, p_fake, 0.1).item() == pytest.approx(expected, rel=1e-6)


def test_generator_loss_is_non_saturating():
    p_fake = torch.tensor([0.5, 0.25])
    assert generator_loss(p_fake).item() == pytest.approx((math.log(2) + math.log(4)) / 2, rel=1e-6)


def test_losses_are_clamped_when_d_is_certain():
    ones, zeros = torch.ones(2), torch.zeros(2)
    cap = -math.log(EPS)
    assert discriminator_loss(zeros, ones).item() == pytest.approx(2 * cap, rel=1e-4)
    assert generator_loss(zeros).item() == pytest.approx(cap, rel=1e-4)
    assert math.isfinite(discriminator_loss(ones, zeros).item())


def test_feature_matching_paired_value():
    real = torch.zeros(2, 2, 2)  # (B, T, C)
    fake = torch.tensor(
        [
            [[1.0, 2.0], [0.0, 1.0]],  # squared sum 1 + 4 + 0 + 1 = 6
            [[3.0, 0.0], [0.0, -2.0]],
        ]
    )  # squared sum 9 + 0 + 0 + 4 = 13
    # summed over time and channels, averaged over the batch: (6 + 13) / 2
    assert feature_matching_loss(real, fake, "paired").item() == pytest.approx(9.5)
    assert feature_matching_loss(fake, real, "paired").item() == pytest.approx(9.5)
    # batch means: fake's are [[2, 1], [0, -0.5]], real's 0: (4 + 1 + 0 + 0.25) / 4 elements
    assert feature_matching_loss(real, fake, "batch_mean").item() == pytest.approx(5.25 / 4)
    for form in ("paired", "batch_mean", "batch_moments"):
        with pytest.raises(ValueError):
            feature_matching_loss(real, fake[:, :1], form)
    with pytest.raises(ValueError, match="form"):
        feature_matching_loss(real, fake, "no-such-form")


def test_batch_mean_matching_ignores_which_sample_is_which():
    # Equal batch means, different samples: 0. The paired form scores the same two batches
    # by how far each fake is from "its" real one: (4 + 4) / 2 per step and channel.
    real = torch.tensor([[[1.0]], [[-1.0]]])  # (B=2, T=1, C=1)
    fake = torch.tensor([[[-1.0]], [[1.0]]])
    assert feature_matching_loss(real, fake, "batch_mean").item() == 0.0
    assert feature_matching_loss(real, fake, "batch_moments").item() == 0.0
    assert feature_matching_loss(real, fake, "paired").item() == pytest.approx(4.0)


def test_batch_moments_charge_a_collapsed_generator_the_real_spread():
    real = torch.tensor([[[1.0, 2.0]], [[-1.0, -2.0]]])  # mean 0, population std (1, 2)
    collapsed = torch.zeros(2, 1, 2)  # one "average" sequence for every z: the mean is met
    assert feature_matching_loss(real, collapsed, "batch_mean").item() == 0.0
    assert feature_matching_loss(real, collapsed, "batch_moments").item() == pytest.approx((1.0 + 4.0) / 2)
    # A batch of one sequence (an epoch's last) has spread 0, not NaN.
    assert feature_matching_loss(real[:1], collapsed[:1], "batch_moments").item() == pytest.approx((1 + 4) / 2)


def test_feature_matching_gradient_reaches_fake_only_path():
    fake = torch.ones(1, 1, 2, requires_grad=True)
    feature_matching_loss(torch.zeros(1, 1, 2), fake, "paired").backward()
    torch.testing.assert_close(fake.grad, torch.full((1, 1, 2), 2.0))


def test_next_event_loss_k1():
    # [dt, onset, length, pitch, velocity]; the real step is a chord member (onset 0).
    target = torch.tensor([[[0.0, 0.0, 1.0, 2.0, 0.0]]])  # (1, 1, 5)
    big = 20.0  # logits: sigmoid(-20) = 2e-9, so the cross-entropy is ~0
    pred = torch.tensor([[[3.0, -big, 1.0, 0.0, 1.0]]])
    # dt ignored (no onset to time), pitch error 4, velocity error 1: 5 / 5 values
    assert next_event_loss(pred, target, 1).item() == pytest.approx(1.0, rel=1e-6)
    onset = target.clone()
    onset[..., :2] = torch.tensor([1.0, 1.0])  # a new onset 1.0 away: now dt counts, and the flag is wrong
    expected = (4.0 + big + 5.0) / 5  # (3 - 1)^2, BCE of logit -20 against 1 ~ 20, tones
    assert next_event_loss(pred, onset, 1).item() == pytest.approx(expected, rel=1e-6)


def test_next_event_loss_with_presence():
    # k = 2: [dt, onset, (length, pitch, velocity, presence) x 2]; the second real slot is absent.
    target = torch.tensor([[[1.0, 1.0, 1.0, 2.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]])  # (1, 1, 10)
    big = 20.0
    pred = torch.tensor([[[0.0, big, 1.0, 0.0, 0.0, big, 5.0, 5.0, 5.0, -big]]])
    # dt error 1, slot 1 pitch error 4, slot 2's tone features ignored (absent): 5 / 10
    assert next_event_loss(pred, target, 2).item() == pytest.approx(5 / 10, rel=1e-6)
    unsure = pred.clone()
    unsure[..., 5] = 0.0  # p = 0.5 on a present slot: cross-entropy log 2
    assert next_event_loss(unsure, target, 2).item() == pytest.approx((5 + math.log(2)) / 10, rel=1e-6)


def test_absolute_velocity_loss_charges_the_distance_not_its_square():
    # k = 1 [dt, onset, length, pitch, velocity]: a new onset, every value 0 against the target.
    big = 20.0
    target = torch.tensor([[[1.0, 1.0, 2.0, 3.0, 4.0]]])
    pred = torch.tensor([[[0.0, big, 0.0, 0.0, 0.0]]])
    # squared: 1 + 4 + 9 + 16; absolute: velocity counts 4, the rest as before (1 + 4 + 9)
    assert next_event_loss(pred, target, 1).item() == pytest.approx(30 / 5, rel=1e-6)
    assert next_event_loss(pred, target, 1, "absolute").item() == pytest.approx(18 / 5, rel=1e-6)
    # k = 2: only the sounding slot's velocity counts, by |error| = 3 (squared: 9)
    slots = torch.tensor([[[0.0, 0.0, 0.0, 0.0, 3.0, 1.0, 7.0, 7.0, 7.0, 0.0]]])
    guess = torch.tensor([[[0.0, -big, 0.0, 0.0, 0.0, big, 0.0, 0.0, 0.0, -big]]])
    assert next_event_loss(guess, slots, 2, "absolute").item() == pytest.approx(3 / 10, rel=1e-6)
    assert next_event_loss(guess, slots, 2).item() == pytest.approx(9 / 10, rel=1e-6)
    # K candidates: the winner (nearest pitch) is scored with the same velocity term.
    out = torch.cat([torch.tensor([[[big, -big]]]), pred, pred + 10.0], dim=-1)  # (1, 1, 2 (F + 1))
    assert hypotheses_loss(out, target, 1, 2, "absolute").item() == pytest.approx(18 / 5, rel=1e-5)
    with pytest.raises(ValueError, match="velocity loss"):
        next_event_loss(pred, target, 1, "huber")


@pytest.mark.parametrize(
    "d_loss, g_loss, ratio, expected",
    [
        (0.5, 1.0, 0.7, (True, False)),  # D below 70% of G: D frozen
        (0.69, 1.0, 0.7, (True, False)),
        (0.7, 1.0, 0.7, (False, False)),  # exactly 70%: not below
        (0.8, 1.0, 0.7, (False, False)),  # close losses: both train
        (1.0, 0.5, 0.7, (False, True)),  # G below 70% of D: G frozen
        (1.0, 1.0, 0.7, (False, False)),
        (0.0, 1.0, 0.7, (True, False)),
        (0.0, 0.0, 0.7, (False, False)),
        (0.01, 5.0, 0.0, (False, False)),  # ratio 0: never freeze
        (5.0, 0.01, 0.0, (False, False)),
        (1.0, 3.0, 0.7, (True, False)),  # no "loss < 2" gate as in the original code
        (0.9, 1.0, 1.0, (True, False)),
        (1.0, 0.9, 1.0, (False, True)),
    ],
)
def test_freeze_table(d_loss, g_loss, ratio, expected):
    assert freeze_decision(d_loss, g_loss, ratio) == expected


@pytest.mark.parametrize("a, b", [(0.3, 1.0), (1.0, 1.3), (2.0, 0.1), (0.5, 0.5)])
@pytest.mark.parametrize("ratio", [0.0, 0.5, 0.7, 1.0])
def test_freeze_symmetric_and_never_both(a, b, ratio):
    freeze_d, freeze_g = freeze_decision(a, b, ratio)
    assert (freeze_g, freeze_d) == freeze_decision(b, a, ratio)
    assert not (freeze_d and freeze_g)


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_freeze_rejects_ratio_outside_unit_interval(ratio):
    with pytest.raises(ValueError):
        freeze_decision(1.0, 1.0, ratio)


@pytest.mark.parametrize(
    "accuracy, threshold, expected",
    [
        (0.96, 0.95, (True, False)),
        (0.95, 0.95, (True, False)),
        (0.94, 0.95, (False, False)),
        (1.0, 1.01, (False, False)),  # a threshold above 1 never freezes
    ],
)
def test_freeze_by_accuracy(accuracy, threshold, expected):
    assert freeze_by_accuracy(accuracy, threshold) == expected


def test_hypotheses_loss_scores_the_nearest_candidate_and_learns_which_it_was():
    # k = 1, K = 2: out = [logit_0, logit_1, candidate_0 (5), candidate_1 (5)].
    target = torch.tensor([[[0.0, 0.0, 1.0, 2.0, 0.0]]])  # a chord member: dt ignored
    big = 20.0
    exact = [3.0, -big, 1.0, 2.0, 0.0]  # right but for dt, which does not count: error 0
    off = [0.0, -big, 1.0, 0.0, 1.0]  # pitch error 4, velocity error 1: 5
    out = torch.tensor([[[0.0, 0.0, *off, *exact]]])  # equal logits: cross-entropy log 2
    assert hypotheses_loss(out, target, 1, 2).item() == pytest.approx(math.log(2) / 5, abs=1e-6)
    sure = out.clone()
    sure[..., 1] = big  # certain of candidate 1, which won: no choice cost
    assert hypotheses_loss(sure, target, 1, 2).item() == pytest.approx(0.0, abs=1e-6)
    # The loser is not scored: moving it changes nothing.
    moved = out.clone()
    moved[..., 2:7] += 3.0
    assert hypotheses_loss(moved, target, 1, 2).item() == pytest.approx(math.log(2) / 5, abs=1e-6)
    # One candidate is the plain next-event loss.
    single = torch.tensor([[off]])
    assert hypotheses_loss(single, target, 1, 1).item() == next_event_loss(single, target, 1).item()


def test_categorical_pitch_loss_is_the_cross_entropy_of_the_real_midi_number():
    # k = 1: the real event plays MIDI 62 (feature 2 / 12 on the (60, 12) scale).
    target = torch.tensor([[[0.5, 1.0, 1.0, 2 / 12, 0.0]]])
    event = [0.5, 50.0, 1.0, -7.0, 0.0]  # right but for its own pitch output, which is not scored
    uniform = torch.tensor([[[*event, *([0.0] * MIDI_PITCHES)]]])
    scale = ("midi", 60.0, 12.0)
    bce = math.log1p(math.exp(-50.0))
    assert categorical_pitch_loss(uniform, target, 1, scale).item() == pytest.approx(
        (math.log(MIDI_PITCHES) + bce) / 5, rel=1e-6
    )
    sure = uniform.clone()
    sure[..., 5 + 62] = 30.0  # certain of 62: nothing left to learn
    assert categorical_pitch_loss(sure, target, 1, scale).item() == pytest.approx(0.0, abs=1e-6)
    wrong = uniform.clone()
    wrong[..., 5 + 61] = 30.0  # certain of the neighbour: cross-entropy ~30, whatever the distance
    assert categorical_pitch_loss(wrong, target, 1, scale).item() == pytest.approx(30.0 / 5, rel=1e-4)
    # The other values are scored as in the next-event loss: velocity off by 2 adds 4.
    louder = uniform.clone()
    louder[..., 4] = 2.0
    diff = categorical_pitch_loss(louder, target, 1, scale) - categorical_pitch_loss(uniform, target, 1, scale)
    assert diff.item() == pytest.approx(4 / 5, rel=1e-5)


def test_categorical_pitch_loss_skips_absent_slots():
    # k = 2, F = 10: slot 0 sounds MIDI 72, slot 1 is absent; uniform logits, events exact.
    target = torch.tensor([[[0.5, 1.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]])
    event = torch.tensor([0.5, 50.0, 1.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0, -50.0])
    out = torch.cat([event, torch.zeros(2 * MIDI_PITCHES)])[None, None]
    bce = 3 * math.log1p(math.exp(-50.0))
    loss = categorical_pitch_loss(out, target, 2, ("midi", 60.0, 12.0))
    assert loss.item() == pytest.approx((math.log(MIDI_PITCHES) + bce) / 10, rel=1e-6)


def test_hypotheses_are_chosen_by_pitch_not_by_the_whole_event():
    target = torch.tensor([[[0.0, 0.0, 1.0, 2.0, 0.0]]])
    big = 20.0
    right_pitch = [0.0, -big, 1.0, 2.0, 3.0]  # velocity off by 3: event error 9
    near = [0.0, -big, 1.0, 1.0, 0.0]  # pitch off by 1: event error 1, but the wrong pitch
    out = torch.tensor([[[big, 0.0, *right_pitch, *near]]])  # sure of candidate 0: no choice cost
    assert hypotheses_loss(out, target, 1, 2).item() == pytest.approx(9 / 5, abs=1e-5)
    # k = 2: the pitch error sums over the real step's sounding slots only.
    target2 = torch.tensor([[[1.0, 1.0, 1.0, 2.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0]]])
    assert pitch_errors(torch.tensor([[[1.0, big, 1.0, 0.0, 0.0, big, 1.0, 9.0, 1.0, -big]]]), target2, 2).item() == 4.0
