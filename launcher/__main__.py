"""``python -m launcher up`` runs the platform in one process (see README)."""

from launcher.cli import main

raise SystemExit(main())
