"""The composition root that runs several services in one process (embedded demo).

It is not a service: it imports each service's ``main`` module by name from
``launcher.registry`` and gives them the parts the embedded mode uses (one SQLite
database per service, one in-process bus). Services never import it.
"""
