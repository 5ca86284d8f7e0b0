"""The ``models.<name>`` sections of ``params.yaml``: which keys each model kind reads.

``kind: gan`` (C-RNN-GAN, C-RNN-GAN-3) reads :class:`GANConfig`'s keys, ``kind: baseline``
(the RNN baseline) :class:`BaselineConfig`'s, the generator's alone. There are no defaults:
params.yaml is the one set of values (its comments give the paper's where it departs), and
:func:`crnngan.config.build_model` refuses a missing key and a key the kind does not read.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ModelConfig:
    """What every model reads: G, its optimiser, batches and epochs. Built only as one of its
    subclasses, whose class gives ``kind`` (it is not a constructor argument)."""

    kind: str = field(init=False)
    tones_per_step: int
    hidden_g: int
    layers_g: int
    noise_dim: int
    # Candidate events G's head proposes per step, one drawn (1: the paper's single regression output)
    hypotheses: int
    # How G outputs a pitch: "regression" (the paper's, one real number per slot) or
    # "categorical" (128 logits over the MIDI numbers, one drawn; needs hypotheses 1)
    pitch_head: str
    # The categorical head draws each pitch among the most likely numbers holding this share of
    # its probability (nucleus sampling; 1: all 128, the plain softmax draw); the regression head ignores it
    pitch_top_p: float
    # Networks also see each tone's place on the circle of fifths (False: the paper's raw pitch only)
    pitch_classes: bool
    # Free running, G is fed back its tones rounded to the semitone, as played (False: the paper's raw output)
    feed_semitones: bool
    # The next-event loss's velocity term: "squared" (the paper's) or "absolute" error (config.VELOCITY_LOSSES)
    velocity_loss: str
    # Std (normalised units) of noise on the teacher-forced previous event's dt, lengths and
    # velocities in training, so free running pulls its drift back (heads.perturb_fed); the paper: 0
    teacher_noise: float
    dropout: float
    batch_size: int
    epochs: int  # a GAN's adversarial epochs (pretraining comes first)
    curriculum_step: int  # pretraining length = min(step * (epoch + 1), segment_length)
    optimizer: str
    lr_g: float
    momentum: float
    l2: float
    clip_norm: float
    # Sample with G's dropout active, as the original code did (its only source of variety
    # for the MSE baseline); False samples deterministically given z.
    sample_dropout: bool


@dataclass(frozen=True)
class BaselineConfig(ModelConfig):
    """``kind: baseline``, the RNN baseline: G alone, trained by next-event regression."""

    kind: str = field(init=False, default="baseline")


@dataclass(frozen=True)
class GANConfig(ModelConfig):
    """``kind: gan``, C-RNN-GAN and C-RNN-GAN-3: G's keys, then D's, pretraining's and the game's."""

    kind: str = field(init=False, default="gan")
    hidden_d: int
    layers_d: int
    pretrain_epochs: int
    lr_pretrain: float  # G's rate while pretraining; 0 = lr_g, as in the paper
    lr_d: float
    feature_matching: bool
    # batch_mean: Salimans et al.'s ||E R(x) - E R(G(z))||^2; batch_moments: the same plus the
    # batch std; paired: the paper's printed formula and the original code, whose optimum is
    # one sequence for every z (losses.feature_matching_loss)
    feature_matching_form: str
    freeze_rule: str  # loss: the paper's ratio rule; accuracy: D frozen while d_acc >= freeze_accuracy
    freeze_ratio: float  # freeze a player whose loss < ratio * the other's; 0 = never
    freeze_accuracy: float  # freeze_rule accuracy only; > 1 = never
    # D's loss sums a real and a fake term, G's has one: at equilibrium d = 2 log 2, g = log 2,
    # so comparing totals would freeze G whenever D is merely at chance. 0.5 compares per-term
    # losses; 1.0 compares the totals literally.
    freeze_d_scale: float
    label_smoothing: float
    # Dropout on D's input features. The original code: its dropout (0.5), real and fake alike.
    dropout_d_input: float
    # D judges G's tones as played, pitches rounded to the semitone (straight-through, so G's
    # gradient still reaches its real-valued output); False: the paper's raw output
    judge_semitones: bool
    # Std of Gaussian noise added to what D sees (real and fake), annealed linearly to 0 over
    # the adversarial epochs (instance noise, Sonderby et al. 2017); the paper: 0.
    instance_noise: float
    # Weight of the teacher-forced next-event loss added to G's adversarial loss, which keeps
    # the structure pretraining learned while the game adds variety; the paper: 0.
    mle_weight: float
    # Sample from an average of G's weights over the game, decay per G step (0: the paper's last G)
    ema_decay: float
    # Which G samples: "last" (the paper's, the end of the game) or "closeness" (the
    # adversarial epoch whose songs were closest to real validation music,
    # training.callbacks.SelectByCloseness)
    select_by: str


MODEL_KINDS: dict[str, type[ModelConfig]] = {"gan": GANConfig, "baseline": BaselineConfig}
