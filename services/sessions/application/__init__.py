"""Commands and queries of the sessions service, one module per area."""
