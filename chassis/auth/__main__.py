"""``python -m chassis.auth`` runs the token CLI."""

from chassis.auth.cli import main

raise SystemExit(main())
