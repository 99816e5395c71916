"""Current-state tables of the sessions service (``tables.py``) and the modules that
keep them from its own and inbound events."""
