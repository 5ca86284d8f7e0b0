"""Command lines: the per-model stages' shared arguments, and `crnngan-sample` (MIDI from any
checkpoint, without DVC)."""

from __future__ import annotations

import argparse
from pathlib import Path

from crnngan.paths import PARAMS
from crnngan.training.sampling import sample_to_dir


def model_stage_parser(description: str, out_folder: str) -> argparse.ArgumentParser:
    """What the train and sample stages both take: --model, --params, --data (the preprocess
    stage's folder) and --out (default ``<out_folder>/<model>``)."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--model", required=True)
    ap.add_argument("--params", default=PARAMS)
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--out", type=Path, help=f"default: {out_folder}/<model>")
    return ap


def sample_main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="crnngan-sample", description="Write MIDI from any checkpoint, without DVC.")
    ap.add_argument("checkpoint", type=Path, help="e.g. models/crnngan/checkpoints/last.ckpt")
    ap.add_argument(
        "--normalizer",
        type=Path,
        default=Path("data/processed/normalizer.json"),
        help="the normalizer.json of the data the model was trained on",
    )
    ap.add_argument("--out", type=Path, default=Path("generated"))
    ap.add_argument("--count", type=int, default=8)
    ap.add_argument("--length", type=int, default=100, help="LSTM steps per song")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda")
    args = ap.parse_args(argv)
    songs = sample_to_dir(args.checkpoint, args.normalizer, args.out, args.count, args.length, args.seed, args.device)
    print(f"wrote {len(songs)} songs ({sum(map(len, songs))} notes) to {args.out}/")


if __name__ == "__main__":
    sample_main()
