"""The services' HTTP APIs: the request and response models of each service's routes.

One module per service (``contracts.api.matching`` …). The service's ``api/`` routers
parse with these request models and render with these response models, its
``application/`` returns them, and the gateway reads a service's answers through them
instead of picking fields out of dicts. Closed sets are enums shared with the domain
(defined in ``contracts`` so the gateway can name them too). The OpenAPI document each
service serves is built from them and committed in ``docs/openapi/<service>.json``.
"""
