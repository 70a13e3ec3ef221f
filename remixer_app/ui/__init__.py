"""All Qt code of remixer_app lives in this package."""
