"""Commands and queries of the advisors service, one module per area."""
