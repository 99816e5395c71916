"""Write a new, empty revision file into a service's migrations folder."""

from __future__ import annotations

import re
from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util.exc import CommandError

from chassis.migrations.runner import MigrationError

_TEMPLATE = '''"""{message}

Revision ID: {revision}
Revises: {down_revision}
"""

from __future__ import annotations

from alembic import op  # noqa: F401  (op.execute / op.add_column ... below)

revision = "{revision}"
down_revision: str | None = "{down_revision}"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
'''


def new_revision(folder: Path, message: str) -> Path:
    """Add ``versions/<NNNN>_<slug>.py`` after the current head; return its path.

    Revision ids are sequential four-digit numbers (the baseline is ``0001``), so
    the history reads in order and a merge that forks it fails loudly here.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    if not slug:
        raise MigrationError("a revision needs a message (-m 'what it changes')")
    script = ScriptDirectory(str(folder))
    try:
        head = script.get_current_head()
        numbers = [
            int(r.revision) for r in script.walk_revisions() if r.revision.isdigit()
        ]
    except (CommandError, RevisionError) as exc:
        raise MigrationError(str(exc)) from exc
    if head is None:
        raise MigrationError(f"{folder} has no baseline revision to follow")
    revision = f"{max(numbers, default=0) + 1:04d}"
    path = folder / "versions" / f"{revision}_{slug}.py"
    text = _TEMPLATE.format(
        message=message.strip().replace('"""', "'''"),
        revision=revision,
        down_revision=head,
    )
    path.write_text(text)
    return path
