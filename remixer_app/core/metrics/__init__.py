"""Objective quality metrics of hearing-aid output.

:mod:`.haaqi` is a fast HAAQI (Kates & Arehart 2016) that reproduces pyclarity's
``compute_haaqi`` score and random draws; the other modules are its parts (auditory
parameters, alignment, compiled loops, ear model, features).
"""

from __future__ import annotations

from remixer_app.core.metrics.haaqi import (
    IMPLEMENTATIONS,
    HaaqiReference,
    Implementation,
    compute_haaqi,
    haaqi_score,
)

__all__ = ["IMPLEMENTATIONS", "HaaqiReference", "Implementation", "compute_haaqi",
           "haaqi_score"]
