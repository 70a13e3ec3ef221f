"""A preference from the settings being listened to: the settings model meets the store.

:class:`~remixer_app.core.storage.sessions.SessionStore` knows rows, not models; what a
saved preference takes from the model, and what it leaves of the listener's stored
profile, is decided here once for every place that saves one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from remixer_app.core.storage.database import StorageError
from remixer_app.core.storage.sessions import SessionStore

if TYPE_CHECKING:
    from remixer_app.core.mix_model import MixModel


def save_preference(store: SessionStore, model: MixModel, track_key: str, track_name: str,
                    note: str = "") -> int:
    """Save the model's listener and current settings as a preference for a track.

    The one way the app saves a preference: the main window's action and the
    sessions dialog's button both use it. The preference holds its own copy of the
    listener (in the settings), so the listener's stored profile is only added when
    there is none: an audiogram edited for this session must not silently replace
    the measured one (saving the profile is the listener panel's choice).

    Parameters
    ----------
    store
        The session database.
    model
        Whose listener (saved as a profile when there is none yet) and settings are
        saved.
    track_key
        What identifies the track: a content hash or its path, as the caller keeps it.
    track_name
        The name shown for the track.
    note
        The clinician's note.

    Returns
    -------
    int
        The new preference's id.

    Raises
    ------
    StorageError
        No listener is chosen, or the database cannot be written.
    """
    listener = model.listener
    if listener is None:
        raise StorageError("choose a listener before saving a preference")
    store.add_listener(listener)  # a preference needs its listener's row
    return store.add_preference(listener.id, track_key, track_name, model.to_dict(), note)
