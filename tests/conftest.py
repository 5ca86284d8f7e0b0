"""Shared fixtures."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Tests train tiny models, which gain nothing from intra-op threads; on a busy 2-core
    runner the hand-offs between torch's threads made some test files 6x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def tiny_params():
    """``tiny_params(overrides)``: params.yaml with tiny models and ``overrides`` merged in, as
    Params (tests/params_fixtures.py, which also serves tests outside fixtures)."""
    from params_fixtures import tiny_params

    return tiny_params


@pytest.fixture(scope="session")
def _mlflow_template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite DB, built once: migrating costs ~2.5 s, copying ~0."""
    from mlflow import MlflowClient

    folder = tmp_path_factory.mktemp("mlflow-template")
    db = folder / "mlflow.db"
    # Opening the store runs the migrations; chdir so its default artifact root ("./mlruns")
    # cannot point into the real project.
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        MlflowClient(f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def mlflow_tmp(_mlflow_template_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private tracking store for one test, at ``tmp_path/mlruns/mlflow.db``; yields its URI.

    Sets ``MLFLOW_TRACKING_URI`` and clears the variables that would tie runs to an outer
    DVC pipeline, so nothing reaches the project's own ``mlruns/``.
    """
    import mlflow

    db = tmp_path / "mlruns" / "mlflow.db"
    db.parent.mkdir()
    shutil.copyfile(_mlflow_template_db, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    for var in ("CRNNGAN_PIPELINE_RUN", "DVC_ROOT", "DVC_STAGE", "DVC_EXP_NAME"):
        monkeypatch.delenv(var, raising=False)
    yield uri
    while mlflow.active_run() is not None:  # a failed test must not leave runs to the next one
        mlflow.end_run("FAILED")
    mlflow.set_tracking_uri(None)  # it also exported the URI to os.environ; monkeypatch restores


@pytest.fixture(scope="session")
def random_songs():
    """Ten random 48-tone songs as a SongSet (six train, three validation, one test) and the
    Normalizer fitted on the train six."""
    import numpy as np

    from crnngan.data.preprocess import SongSet
    from crnngan.data.representation import Normalizer

    rng = np.random.default_rng(0)
    songs = []
    for _ in range(10):
        dt = rng.choice([0.0, 0.25, 0.5], 48)
        dt[0] = 0.0
        songs.append(
            np.stack(
                [dt, np.full(48, 0.25), rng.choice([60, 62, 64, 65, 67, 69, 71, 72], 48), rng.integers(60, 100, 48)],
                axis=1,
            ).astype(np.float32)
        )
    ids = np.array([f"s{i}" for i in range(10)])
    song_set = SongSet(
        np.concatenate(songs), np.arange(11, dtype=np.int64) * 48, np.array([0] * 6 + [1] * 3 + [2], np.int8), ids, ids
    )
    return song_set, Normalizer.fit(np.concatenate(songs[:6]))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory, random_songs) -> Path:
    """A preprocessed data folder of :func:`random_songs`; 16-event segments (k = 1 only)."""
    from crnngan.data.preprocess import SPLITS, Preprocessed, make_segments, save_preprocessed

    song_set, normalizer = random_songs
    segments = {1: {name: make_segments(song_set.songs(i), normalizer, 1, 16, 16) for i, name in enumerate(SPLITS)}}
    folder = tmp_path_factory.mktemp("data")
    save_preprocessed(Preprocessed(song_set, normalizer, segments, {}), folder)
    return folder
