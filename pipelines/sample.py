"""Stage `sample@<model>`: N songs from the trained model -> samples/<model>/ (MIDI + songs.npz)."""

import argparse
import logging
import shutil
import sys
from pathlib import Path

from crnngan.config import load_params
from crnngan.paths import PARAMS, DataDir, ModelDir
from crnngan.training.sampling import sample_to_dir

log = logging.getLogger("sample")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--params", default=PARAMS)
    ap.add_argument("--models", type=Path, default=Path("models"))
    ap.add_argument("--data", type=Path, default=Path("data/processed"))
    ap.add_argument("--out", type=Path, help="default: samples/<model>")
    args = ap.parse_args(argv)
    s = load_params(args.params).sample
    out = args.out or Path("samples") / args.model
    shutil.rmtree(out, ignore_errors=True)
    songs = sample_to_dir(
        ModelDir(args.models / args.model).last_checkpoint,
        DataDir(args.data).normalizer,
        out,
        s.count,
        s.length,
        s.seed,
    )
    log.info("%s: %d songs, %d notes -> %s", args.model, len(songs), sum(map(len, songs)), out)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
