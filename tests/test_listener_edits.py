"""Tests for remixer_app.core.listener_edits: an edited audiogram's listener and name."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from remixer_app.core.audiogram import get_preset
from remixer_app.core.listener_edits import (
    EDITED_SUFFIX,
    edited_listener,
    edited_name,
    same_audiograms,
)


def test_an_edit_keeps_the_id_and_says_so_in_the_name_once() -> None:
    base = get_preset("N3")
    louder = replace(base.left, levels=np.asarray(base.left.levels) + 5.0)
    edited = edited_listener(replace(base, left=louder), base)
    assert edited.id == base.id and edited.name == base.display_name + EDITED_SUFFIX
    assert not same_audiograms(edited, base)
    assert edited_name(edited) == edited.name  # the suffix is added only once
    again = edited_listener(replace(edited, right=louder), base)
    assert again.name == edited.name


def test_an_edit_undone_gives_back_the_listener_as_chosen() -> None:
    base = get_preset("N3")
    assert edited_listener(replace(base, name="anything"), base) is base
    assert same_audiograms(replace(base, name="other"), base)
