"""The paper's own data: the classical MIDI files its author committed to the original repo.

    python pipelines/paper_data.py [--source URL_OR_PATH] [--commit SHA] [--out data/paper]

Fetches ``data/classical`` (3,029 MIDI files from 127 composers, about 91 MB) of
github.com/olofmogren/c-rnn-gan at a pinned commit with a sparse, blob-filtered git clone,
verifies every file against ``configs/paper_data.sha256`` and moves the folder to
``<out>/classical``. Nothing is fetched twice: an existing, verified folder is kept. Train on
it with ``dvc exp run -S data.midi_dir=data/paper/classical`` (or ``configs/paper_data.yaml``).
The paper's scraper no longer works (its sites are gone): this is the closest copy of the
paper's 3,697 files that exists.
"""

import argparse
import logging
import subprocess
import sys
from pathlib import Path

from crnngan.data.paper_data import COMMIT, SOURCE, fetch

log = logging.getLogger("paper-data")
CHECKSUMS = Path(__file__).resolve().parents[1] / "configs" / "paper_data.sha256"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", default=SOURCE, help="git URL or path of the original repository")
    ap.add_argument("--commit", default=COMMIT)
    ap.add_argument("--out", type=Path, default=Path("data/paper"))
    ap.add_argument("--checksums", type=Path, default=CHECKSUMS)
    args = ap.parse_args(argv)
    try:
        fetch(args.source, args.commit, args.out, args.checksums)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        log.error("%s", getattr(exc, "stderr", None) or exc)
        return 1
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
