"""``python -m optimizer`` is the same as ``dcplan``."""

import sys

from .cli import main

sys.exit(main())
