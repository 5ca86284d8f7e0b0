"""The one on-disk layout of a set of songs (crnngan.data.songs)."""

import numpy as np

from crnngan.data.songs import load_songs, pack, read_packed, save_songs, unpack, write_packed


def test_pack_puts_songs_back_to_back():
    a = np.array([[0.0, 0.5, 60, 100], [0.5, 0.5, 62, 90]])
    b = np.array([[0.0, 1.0, 67, 80]])
    events, offsets = pack([a, b, np.zeros((0, 4))])
    assert events.dtype == np.float32 and offsets.dtype == np.int64
    assert offsets.tolist() == [0, 2, 3, 3]
    assert events[:, 2].tolist() == [60, 62, 67]
    back = unpack(events, offsets)
    assert [len(s) for s in back] == [2, 1, 0] and np.array_equal(back[1], b.astype(np.float32))


def test_no_songs_pack_to_an_empty_table():
    events, offsets = pack([])
    assert events.shape == (0, 4) and offsets.tolist() == [0]
    assert unpack(events, offsets) == []


def test_songs_and_per_song_arrays_survive_the_file(tmp_path):
    songs = [np.array([[0.0, 0.25, 64, 70]]), np.array([[0.0, 0.5, 48, 60], [0.0, 0.5, 55, 60]])]
    save_songs(tmp_path / "s.npz", songs)
    again = load_songs(tmp_path / "s.npz")
    assert [s.tolist() for s in again] == [s.tolist() for s in songs]
    write_packed(tmp_path / "c.npz", *pack(songs), split=np.array([0, 2], np.int8))
    packed = read_packed(tmp_path / "c.npz", "split")
    assert packed["split"].tolist() == [0, 2] and packed["offsets"].tolist() == [0, 1, 3]
    # the corpus file is a song file too: the sample stage's reader takes it
    assert len(load_songs(tmp_path / "c.npz")) == 2
