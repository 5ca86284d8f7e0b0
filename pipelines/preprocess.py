"""Stage `preprocess`: a folder of MIDI -> split, segmented, normalised tone events."""

import argparse
import logging
import shutil
import sys
from pathlib import Path

from crnngan.config import load_params
from crnngan.data.preprocess import NoUsableMidiError, preprocess_folder, save_preprocessed

log = logging.getLogger("preprocess")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--params", default="params.yaml")
    ap.add_argument("--input", type=Path, help="MIDI folder (default: params data.midi_dir)")
    ap.add_argument("--out", type=Path, default=Path("data/processed"))
    args = ap.parse_args(argv)
    params = load_params(args.params)
    try:
        ds = preprocess_folder(args.input or params.data.midi_dir, params.preprocess)
    except NoUsableMidiError as exc:
        log.error("%s", exc)
        return 1
    shutil.rmtree(args.out, ignore_errors=True)
    save_preprocessed(ds, args.out)
    r = ds.report
    log.info(
        "%d files seen, %d used, %d skipped %s",
        r["files_seen"],
        r["files_used"],
        r["files_skipped"],
        r["skipped_by_reason"],
    )
    log.info("songs per split %s; segments %s", r["songs_per_split"], r["segments"])
    for note in r["notes"]:
        log.info("note: %s", note)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    sys.exit(main())
