"""Named domain constants shared by data, models and metrics."""

# Every time value in the package is in seconds, quantised to this grid. It is one tick at
# 384 ticks per quarter note (the paper's resolution) and 120 BPM, which is also how
# generated MIDI is written, so MIDI -> events -> MIDI is exact on the grid.
TICKS_PER_BEAT = 384
REFERENCE_BPM = 120.0
TIME_QUANTUM = 60.0 / REFERENCE_BPM / TICKS_PER_BEAT  # 1/768 s

# Columns of a raw event array (N, 4): one row per tone, sorted by onset then pitch.
#   dt       seconds since the previous tone's onset (0 for a chord member; 0 for the first)
#   length   seconds the tone sounds
#   pitch    MIDI pitch number (0..127)
#   velocity MIDI velocity (1..127)
EVENT_FIELDS = ("dt", "length", "pitch", "velocity")
DT, LENGTH, PITCH, VELOCITY = range(4)

MIDI_PITCHES = 128
MAX_VELOCITY = 127
A4_PITCH = 69
A4_HZ = 440.0
