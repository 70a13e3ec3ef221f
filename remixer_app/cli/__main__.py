"""``python -m remixer_app.cli``."""

import sys

from remixer_app.cli import main

sys.exit(main())
