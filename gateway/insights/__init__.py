"""The insights part of the schema: its types, loaders, queries and subscriptions.

``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS`` list the classes whose fields
``gateway.schema`` merges into the root types; ``TYPES`` lists types reachable only
through an interface or a union (so the schema still knows them).
"""

from gateway.insights.queries import InsightsQuery
from gateway.insights.subscriptions import InsightsSubscription

QUERIES: tuple[type, ...] = (InsightsQuery,)
MUTATIONS: tuple[type, ...] = ()
SUBSCRIPTIONS: tuple[type, ...] = (InsightsSubscription,)
TYPES: tuple[type, ...] = ()
