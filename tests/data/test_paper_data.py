"""make paper-data against a local bare git repository built here (nothing is fetched)."""

import hashlib
import subprocess
from pathlib import Path

import pytest
from midi_fixtures import chord_file, scale_file
from stage_scripts import REPO, load_stage

from crnngan.data import paper_data


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def origin(tmp_path):
    """A bare repo like the original: data/classical/<composer>/*.mid plus code around it,
    and a later commit that changes a file (the pinned commit must be the one used)."""
    work = tmp_path / "work"
    scale_file(work / "data" / "classical" / "bach" / "scale.mid")
    chord_file(work / "data" / "classical" / "mozart" / "chord.mid")
    (work / "rnn_gan.py").write_text("code, not data\n")
    git(tmp_path, "init", "-q", "-b", "master", str(work))
    git(work, "add", "-A")
    git(work, "commit", "-qm", "data")
    pinned = git(work, "rev-parse", "HEAD")
    scale_file(work / "data" / "classical" / "bach" / "scale.mid", tpb=960)  # other bytes, later
    git(work, "commit", "-qam", "later")
    git(tmp_path, "clone", "-q", "--bare", str(work), str(tmp_path / "origin.git"))
    lines = [
        f"{hashlib.sha256((work / 'data/classical' / p).read_bytes()).hexdigest()}  {p}" for p in ("mozart/chord.mid",)
    ]
    git(work, "checkout", "-q", pinned)
    lines.append(f"{hashlib.sha256((work / 'data/classical/bach/scale.mid').read_bytes()).hexdigest()}  bach/scale.mid")
    (tmp_path / "sums").write_text("\n".join(sorted(lines, key=lambda l: l.split("  ")[1])) + "\n")
    return tmp_path / "origin.git", pinned, tmp_path / "sums"


def test_fetches_the_pinned_data_and_verifies_it(tmp_path, origin):
    source, pinned, sums = origin
    target = paper_data.fetch(str(source), pinned, tmp_path / "data" / "paper", sums)
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file()) == [
        "bach/scale.mid",
        "mozart/chord.mid",
    ]  # data/classical only, no code
    assert paper_data.verify(target, paper_data.read_checksums(sums)) == []
    # A second run keeps the verified folder (nothing fetched twice).
    (source / "objects").rename(source / "gone")
    assert paper_data.fetch(str(source), pinned, tmp_path / "data" / "paper", sums) == target


def test_a_mismatch_fails_naming_the_file(tmp_path, origin):
    source, pinned, sums = origin
    later = git(source, "rev-parse", "master")  # the later commit: scale.mid differs
    stage = load_stage("paper_data")
    with pytest.raises(RuntimeError, match="checksum differs: bach/scale.mid"):
        paper_data.fetch(str(source), later, tmp_path / "out", sums)
    assert not (tmp_path / "out" / "classical").exists()
    assert (
        stage.main(
            ["--source", str(source), "--commit", later, "--out", str(tmp_path / "out"), "--checksums", str(sums)]
        )
        == 1
    )


def test_the_shipped_checksums_describe_the_original_data():
    sums = paper_data.read_checksums(REPO / "configs" / "paper_data.sha256")
    assert len(sums) == 3030 and sum(name.endswith(".mid") for name in sums) == 3029
    assert len({name.split("/")[0] for name in sums if "/" in name}) == 127  # composers
