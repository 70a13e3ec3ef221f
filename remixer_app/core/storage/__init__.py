"""Clinician sessions stored in SQLite: listeners and their preferred settings per track."""

from remixer_app.core.storage.csv_export import CSV_COLUMNS
from remixer_app.core.storage.database import MIGRATIONS, StorageError
from remixer_app.core.storage.preference_saving import save_preference
from remixer_app.core.storage.records import (
    Preference,
    left_out,
    readable_preferences,
    tell_skipped,
)
from remixer_app.core.storage.sessions import DEFAULT_FILE_NAME, SessionStore

__all__ = ["CSV_COLUMNS", "DEFAULT_FILE_NAME", "MIGRATIONS", "Preference", "SessionStore",
           "StorageError", "left_out", "readable_preferences", "save_preference",
           "tell_skipped"]
