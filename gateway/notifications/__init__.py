"""The notifications part of the schema: a person's inbox and preferences, and a
tenant's outbound webhook endpoints.

``QUERIES``, ``MUTATIONS`` and ``SUBSCRIPTIONS`` list the classes whose fields
``gateway.schema`` merges into the root types; ``TYPES`` lists types reachable only
through an interface or a union (so the schema still knows them).
"""

from gateway.notifications.mutations import NotificationsMutation
from gateway.notifications.queries import NotificationsQuery
from gateway.notifications.subscriptions import NotificationsSubscription

QUERIES: tuple[type, ...] = (NotificationsQuery,)
MUTATIONS: tuple[type, ...] = (NotificationsMutation,)
SUBSCRIPTIONS: tuple[type, ...] = (NotificationsSubscription,)
TYPES: tuple[type, ...] = ()
