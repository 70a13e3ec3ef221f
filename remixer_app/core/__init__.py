"""Qt-free core: audio I/O, DSP, the hearing-aid engine, listeners, storage."""
