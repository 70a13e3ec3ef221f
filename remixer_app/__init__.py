"""remixer_app: remix music for listeners with hearing loss."""

__version__ = "0.1.0"
APP_NAME = "remixer_app"
