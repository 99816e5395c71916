"""The people part of the schema: people and profiles, cohorts, waiting list, imports.

``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS`` list the classes whose fields
``gateway.schema`` merges into the root types; ``TYPES`` lists types reachable only
through an interface or a union (so the schema still knows them).
"""

from gateway.people.erasure import ErasureQuery
from gateway.people.mutations import PeopleMutation
from gateway.people.queries import PeopleQuery
from gateway.people.subscriptions import PeopleSubscription
from gateway.people.types import Cohort, Competency, ImportJob, Person

QUERIES: tuple[type, ...] = (PeopleQuery, ErasureQuery)
MUTATIONS: tuple[type, ...] = (PeopleMutation,)
SUBSCRIPTIONS: tuple[type, ...] = (PeopleSubscription,)
TYPES: tuple[type, ...] = (Person, Cohort, Competency, ImportJob)
