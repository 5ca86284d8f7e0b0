"""The embedded corpus: deterministic selection, unique names, real MIDI out."""

import dataclasses

from crnngan.config import CorpusConfig
from crnngan.data.corpus import export_corpus, select_works, target_name
from crnngan.data.midi_io import read_notes


def test_default_selection_is_stable_and_names_unique():
    works = select_works(CorpusConfig())
    names = [target_name(c, p) for c, p in works]
    assert works == select_works(CorpusConfig())
    assert len(set(names)) == len(names) > 100
    assert {c for c, _ in works} == set(CorpusConfig().composers)


def test_export_two_chorales(tmp_path):
    works = select_works(dataclasses.replace(CorpusConfig(), composers=("bach",), max_works_per_composer=2))
    report = export_corpus(works, tmp_path, workers=1)
    assert report == {"selected": 2, "written": 2, "failed": []}
    notes = read_notes(tmp_path / target_name(*works[0]))
    assert len(notes) > 50  # a four-part chorale
    again = tmp_path / "again"
    export_corpus(works, again, workers=1)
    assert (again / target_name(*works[0])).read_bytes() == (tmp_path / target_name(*works[0])).read_bytes()
