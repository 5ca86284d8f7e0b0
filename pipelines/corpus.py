"""Stage `corpus`: export the music21-bundled classical works to MIDI under --out.

When `data.midi_dir` points elsewhere (your own MIDI folder) the stage is a pass-through:
it writes only a note saying so, and `preprocess` reads your folder directly.
"""

import argparse
import json
import logging
import shutil
import sys
from pathlib import Path

from crnngan.config import load_params
from crnngan.data.corpus import export_corpus, select_works

log = logging.getLogger("corpus")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--out", type=Path, default=Path("data/corpus"))
    args = ap.parse_args(argv)
    params = load_params(args.params)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    if Path(params.data.midi_dir).resolve() != args.out.resolve():
        report = {"skipped": True, "reason": f"data.midi_dir = {params.data.midi_dir!r}"}
    else:
        report = export_corpus(select_works(params.corpus), args.out, params.corpus.workers)
        log.info("wrote %d of %d works", report["written"], report["selected"])
        for f in report["failed"]:
            log.warning("skipped %s: %s", f["source"], f["reason"])
    (args.out / "corpus_report.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
