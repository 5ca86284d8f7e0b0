"""The embedded default corpus: works bundled with the ``music21`` package, as MIDI.

music21 ships its corpus inside the wheel, so this works offline. Selection is
deterministic (sorted paths, first N per composer) and so is the output.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

from tqdm import tqdm

from crnngan.config import CorpusConfig
from crnngan.data.midi_io import export_music21_work


def select_works(cfg: CorpusConfig) -> list[tuple[str, Path]]:
    """(composer, score path) pairs chosen by ``cfg``, in a stable order."""
    from music21 import corpus

    works: list[tuple[str, Path]] = []
    for composer in cfg.composers:
        paths = sorted(Path(p) for p in corpus.getComposer(composer) if Path(p).suffix.lower() in cfg.formats)
        if not paths:
            raise ValueError(f"corpus.composers: music21 bundles no score by {composer!r}")
        if cfg.max_works_per_composer:
            paths = paths[: cfg.max_works_per_composer]
        works.extend((composer, p) for p in paths)
    return works


def corpus_relative(source: Path) -> str:
    """``source``'s path inside music21's corpus folder (e.g. ``mozart/k458/movement1.mxl``)."""
    parts = source.parts
    return "/".join(parts[len(parts) - 1 - parts[::-1].index("corpus") + 1 :])


def target_name(composer: str, source: Path) -> str:
    """Stable, collision-free MIDI name: works of a composer share file names across
    opus folders (``k458/movement1``, ``k80/movement1``), so the folders join the name."""
    rel = corpus_relative(source)
    inner = rel.split("/", 1)[1] if rel.startswith(f"{composer}/") else rel
    return f"{composer}/{inner.rsplit('.', 1)[0].replace('/', '_')}.mid"


def _export(job: tuple[str, str]) -> tuple[str, str]:
    """Export one work; returns (source, error or "") so one bad score never stops the stage."""
    source, target = job
    try:
        export_music21_work(source, target)
        return source, ""
    except Exception as exc:  # noqa: BLE001 - music21 raises many types on odd scores
        Path(target).unlink(missing_ok=True)
        return source, f"{type(exc).__name__}: {exc}"


def export_corpus(works: list[tuple[str, Path]], out_dir: Path, workers: int = 0) -> dict:
    """Write every selected work as MIDI under ``out_dir``; returns a report dict."""
    jobs = [(str(src), str(out_dir / target_name(c, src))) for c, src in works]
    n = min(workers or os.cpu_count() or 1, max(len(jobs), 1))
    bar = dict(total=len(jobs), desc="corpus", unit="work", mininterval=1.0)
    if n == 1:
        results = [_export(j) for j in tqdm(jobs, **bar)]
    else:
        with mp.get_context("spawn").Pool(n) as pool:
            results = list(tqdm(pool.imap(_export, jobs), **bar))
    failed = [{"source": corpus_relative(Path(s)), "reason": err} for s, err in results if err]
    return {"selected": len(jobs), "written": len(jobs) - len(failed), "failed": failed}
