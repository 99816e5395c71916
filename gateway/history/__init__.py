"""The programme-history import: one document, three services' jobs, one report.

``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS`` list the classes whose fields
``gateway.schema`` merges into the root types; ``TYPES`` lists types reachable only
through an interface or a union (so the schema still knows them).
"""

from gateway.history.mutations import HistoryMutation
from gateway.history.queries import HistoryQuery
from gateway.history.types import ProgrammeHistoryImport

QUERIES: tuple[type, ...] = (HistoryQuery,)
MUTATIONS: tuple[type, ...] = (HistoryMutation,)
SUBSCRIPTIONS: tuple[type, ...] = ()
TYPES: tuple[type, ...] = (ProgrammeHistoryImport,)
