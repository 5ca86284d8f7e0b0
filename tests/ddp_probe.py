"""Train one model with train.strategy ddp and record, per process, what test_ddp.py checks.

    python tests/ddp_probe.py PARAMS MODEL DATA OUT

Lightning's DDP starts the other processes by running this same command again, so it is a
script, not a test. Every process writes OUT/rank_<r>.json: per training batch the epoch,
batch index, a digest of G's and D's weights after the step, whether D was frozen for it and
a digest of the process's RNG state before it, and per epoch the digests of the real
sequences it trained on.
"""

import hashlib
import json
import sys
from pathlib import Path

import pytorch_lightning as pl
import torch

from crnngan.config import load_params
from crnngan.training.fit import fit, prepare


def digest(module) -> str:
    """Exact identity of a network's weights."""
    h = hashlib.sha256()
    for p in module.parameters():
        h.update(p.detach().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


class Probe(pl.Callback):
    def __init__(self, out: Path) -> None:
        self.out = out
        self.batches: list[dict] = []
        self.seen: dict[int, list[str]] = {}

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        self.seen.setdefault(trainer.current_epoch, []).extend(
            hashlib.sha256(row.cpu().numpy().tobytes()).hexdigest()[:16] for row in x
        )
        self.rng = hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()[:16]
        self.frozen = bool(
            getattr(pl_module, "_freeze", lambda: (False, False))()[0]
            and trainer.current_epoch >= pl_module.cfg.pretrain_epochs
        )

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        d = getattr(pl_module, "discriminator", None)
        self.batches.append(
            {
                "epoch": trainer.current_epoch,
                "batch": batch_idx,
                "g": digest(pl_module.generator),
                "d": digest(d) if d is not None else None,
                "frozen_d": self.frozen,
                "rng": self.rng,
            }
        )

    def on_train_end(self, trainer, pl_module):
        (self.out / f"rank_{trainer.global_rank}.json").write_text(
            json.dumps({"world": trainer.world_size, "batches": self.batches, "seen": self.seen})
        )


def main() -> int:
    params_path, model, data, out = sys.argv[1:5]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    params = load_params(params_path)
    dm, module, trainer = prepare(params, model, data, out, callbacks=[Probe(out)])
    fit(module, dm, trainer, out / "checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
