"""An audiogram edited in the app: still the same person, under a name that says so.

Edits in the audiogram editor become a new listener with the *same id* and the name
suffixed " (edited)": the id is who the person is (saving a profile replaces that
person's stored audiogram), the name tells everybody the thresholds are no longer the
measured ones. Undoing back to the measured thresholds restores the original listener,
name included.
"""

from __future__ import annotations

from dataclasses import replace

from remixer_app.core.audiogram import Listener

EDITED_SUFFIX = " (edited)"


def edited_name(listener: Listener) -> str:
    """The name of an edited copy of ``listener``; the suffix is added only once."""
    name = listener.display_name
    return name if name.endswith(EDITED_SUFFIX) else name + EDITED_SUFFIX


def same_audiograms(a: Listener, b: Listener) -> bool:
    """Whether ``a`` and ``b`` are one person with the same thresholds, names aside."""
    return a.id == b.id and a.left == b.left and a.right == b.right


def edited_listener(edited: Listener, base: Listener | None) -> Listener:
    """The listener that the editor's ``edited`` thresholds make of ``base``, the
    listener as chosen: ``base`` itself when they are its own again."""
    if base is not None and same_audiograms(edited, base):
        return base  # undone back to the measured thresholds
    return replace(edited, name=edited_name(base if base is not None else edited))
