"""The tables of the later rules and channels, on the service's one ``metadata``
(``tables.py``): the council recommendations awaiting a decision and the sponsors of
each council (who decide them, with the programme's coordinators), the tenant's admins
as the service has seen them, each tenant's Slack bot token (sealed), and the
pairings of a programme's history.

Imported by ``schedule.py`` (so by ``main.py``) before the chassis creates the schema;
migrations 0007 and 0008 create the same on PostgreSQL.
"""

from __future__ import annotations

from sqlalchemy import Table

from chassis.tables import key_column as _key
from chassis.tables import text_column as _text
from services.notifications.projections.tables import metadata

# Open recommendations of the advisors' councils (advisors' ``RecommendationMade``),
# deleted when decided (accepted or rejected).
notification_recommendations = Table(
    "notification_recommendations",
    metadata,
    _key("tenant"),
    _key("recommendation_id"),
    _text("council_id"),
    _text("made_at"),
)

# The sponsors sitting on each council (advisors' ``CouncilMemberAdded`` of kind
# ``sponsor``): with the coordinators, they decide its recommendations.
notification_council_sponsors = Table(
    "notification_council_sponsors",
    metadata,
    _key("tenant"),
    _key("council_id"),
    _key("person_id"),
)

# The tenant's admins: the ``admin`` role lives in tokens only (no event names it),
# so an admin is known from their own calls to this service.
notification_admins = Table(
    "notification_admins",
    metadata,
    _key("tenant"),
    _key("person_id"),
    _text("seen_at"),
)

# A tenant's Slack bot token (``xoxb-``), AES-GCM sealed; never shown back.
notification_slack_bots = Table(
    "notification_slack_bots",
    metadata,
    _key("tenant"),
    _text("token_sealed"),
    _text("updated_at"),
)

# The pairings of a programme's history (matching's unscored ``PairingProposed``): their
# later events (approved, confirmed) tell nobody. Migration 0008.
notification_history_pairings = Table(
    "notification_history_pairings",
    metadata,
    _key("tenant"),
    _key("pairing_id"),
    _text("recorded_at"),
)
