"""Clinician sessions stored in SQLite: listeners and their preferred settings per track."""

from remixer_app.core.storage.csv_export import CSV_COLUMNS
from remixer_app.core.storage.database import MIGRATIONS, StorageError
from remixer_app.core.storage.sessions import (
    DEFAULT_FILE_NAME,
    Preference,
    SessionStore,
    save_preference,
)

__all__ = ["CSV_COLUMNS", "DEFAULT_FILE_NAME", "MIGRATIONS", "Preference", "SessionStore",
           "StorageError", "save_preference"]
