"""The advisors part of the schema: external advisors under due diligence, their
agreements, advisory councils and the programme's risk register.

``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS`` list the classes whose fields
``gateway.schema`` merges into the root types; ``TYPES`` lists types reachable only
through an interface or a union (so the schema still knows them).
"""

from gateway.advisors.mutations import AdvisorsMutation
from gateway.advisors.queries import AdvisorsQuery
from gateway.advisors.types import Advisor, Agreement, Council, Risk

QUERIES: tuple[type, ...] = (AdvisorsQuery,)
MUTATIONS: tuple[type, ...] = (AdvisorsMutation,)
SUBSCRIPTIONS: tuple[type, ...] = ()
TYPES: tuple[type, ...] = (Advisor, Agreement, Council, Risk)
