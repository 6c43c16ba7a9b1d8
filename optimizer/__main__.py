"""``python -m optimizer`` is the same as ``dcplan``."""

import sys

from optimizer.cli import main

sys.exit(main())
