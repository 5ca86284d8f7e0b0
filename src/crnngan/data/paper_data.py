"""The paper's own data: the classical MIDI files its author committed to the original repo.

Fetches ``data/classical`` (3,029 MIDI files from 127 composers, about 91 MB) of
github.com/olofmogren/c-rnn-gan at a pinned commit with a sparse, blob-filtered git clone,
verifies every file against a checksum list (the repository's ``configs/paper_data.sha256``)
and moves the folder to ``<out>/classical``. Nothing is fetched twice: an existing, verified
folder is kept. The paper's scraper no longer works (its sites are gone): this is the closest
copy of the paper's 3,697 files that exists. ``make paper-data`` runs it.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

log = logging.getLogger("paper-data")
SOURCE = "https://github.com/olofmogren/c-rnn-gan.git"
COMMIT = "9edafc02e62ea0478d1798bdf3a283c71cd1eefc"  # HEAD, 2018-12-10, the data as committed
FOLDER = "data/classical"


def read_checksums(path: Path) -> dict[str, str]:
    """``sha256  relative/path`` lines -> {path: digest}."""
    pairs = (line.split("  ", 1) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def verify(folder: Path, expected: dict[str, str]) -> list[str]:
    """What is wrong with ``folder`` against ``expected``: missing, extra and altered files."""
    found = {p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()}
    problems = [f"missing: {name}" for name in sorted(expected.keys() - found.keys())]
    problems += [f"unexpected: {name}" for name in sorted(found.keys() - expected.keys())]
    problems += [
        f"checksum differs: {name}"
        for name in sorted(expected.keys() & found.keys())
        if hashlib.sha256(found[name].read_bytes()).hexdigest() != expected[name]
    ]
    return problems


def fetch(source: str, commit: str, out: Path, checksums: Path) -> Path:
    """``<out>/classical`` holding the verified files of ``source`` at ``commit``."""
    expected = read_checksums(checksums)
    target = out / "classical"
    if target.is_dir() and not verify(target, expected):
        log.info("%s already holds the %d verified files", target, len(expected))
        return target
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "repo"

        def git(*args: str) -> None:
            subprocess.run(["git", *args], check=True, capture_output=True, text=True)

        git("clone", "--quiet", "--filter=blob:none", "--no-checkout", "--sparse", source, str(repo))
        git("-C", str(repo), "sparse-checkout", "set", FOLDER)
        git("-C", str(repo), "checkout", "--quiet", commit)
        problems = verify(repo / FOLDER, expected)
        if problems:
            raise RuntimeError(
                f"{source}@{commit} does not match {checksums}: {len(problems)} problems, "
                f"e.g. {'; '.join(problems[:3])}"
            )
        shutil.rmtree(target, ignore_errors=True)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(repo / FOLDER), target)
    log.info("%s: %d files verified against %s", target, len(expected), checksums.name)
    return target
