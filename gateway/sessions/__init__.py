"""The sessions part of the schema: relationships, learning contracts, sessions,
milestones, check-ins, rotations, notes, feedback, escalations, pulse surveys.

``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS`` list the classes whose fields
``gateway.schema`` merges into the root types; ``TYPES`` lists types reachable only
through an interface or a union (so the schema still knows them).
"""

from gateway.sessions.mutations import SessionsMutation
from gateway.sessions.queries import SessionsQuery
from gateway.sessions.types import Milestone, Relationship, Session

QUERIES: tuple[type, ...] = (SessionsQuery,)
MUTATIONS: tuple[type, ...] = (SessionsMutation,)
SUBSCRIPTIONS: tuple[type, ...] = ()
TYPES: tuple[type, ...] = (Relationship, Session, Milestone)
