"""Classical ensembles made here: scores from music21's corpus rendered per instrument.

The Cadenza 2 challenge data is synthesised and cannot be downloaded, so we make our
own the same way: :mod:`.scores` picks pieces and excerpts, :mod:`.synth` renders each
part with a General MIDI soundfont, and :mod:`.scenes` turns them into stem folders
with varied tempo, dynamics, instruments, stereo placement and room.
"""
