"""``python -m chassis.migrations ...``: see :mod:`chassis.migrations.cli`."""

import sys

from chassis.migrations.cli import main

sys.exit(main())
