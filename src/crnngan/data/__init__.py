"""MIDI files -> tone events -> normalised, segmented feature windows on disk."""
