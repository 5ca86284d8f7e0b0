"""Stage `sample@<model>`: N songs from the trained model -> samples/<model>/ (MIDI + songs.npz)."""

import logging
import shutil
import sys
from pathlib import Path

from crnngan.cli import model_stage_parser
from crnngan.config import load_params
from crnngan.paths import DataDir, ModelDir
from crnngan.training.rng import pin_threads
from crnngan.training.sampling import sample_to_dir

log = logging.getLogger("sample")


def main(argv: list[str] | None = None) -> int:
    ap = model_stage_parser(__doc__, "samples")
    ap.add_argument("--models", type=Path, default=Path("models"), help="the train stages' folder")
    args = ap.parse_args(argv)
    params = load_params(args.params)
    s = params.sample
    pin_threads(params.train.threads)  # G's unroll sums as it did in training's fixed-noise songs
    out = args.out or Path("samples") / args.model
    shutil.rmtree(out, ignore_errors=True)
    songs = sample_to_dir(
        ModelDir(args.models / args.model).sampling_checkpoint,
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
