"""Signal processing blocks of the Cadenza hearing-aid chain."""
