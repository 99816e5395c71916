"""The matching part of the schema: its types, loaders, queries and mutations.

``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS`` list the classes whose fields
``gateway.schema`` merges into the root types; ``TYPES`` lists types reachable only
through an interface or a union (so the schema still knows them).
"""

from gateway.matching.mutations import MatchingMutation
from gateway.matching.queries import MatchingQuery
from gateway.matching.subscriptions import MatchingSubscription
from gateway.matching.types import MatchingRound, Pairing
from gateway.matching.weights import WeightsMutation, WeightsQuery

QUERIES: tuple[type, ...] = (MatchingQuery, WeightsQuery)
MUTATIONS: tuple[type, ...] = (MatchingMutation, WeightsMutation)
SUBSCRIPTIONS: tuple[type, ...] = (MatchingSubscription,)
TYPES: tuple[type, ...] = (MatchingRound, Pairing)
