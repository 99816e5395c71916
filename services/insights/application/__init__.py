"""Commands and queries of insights, one module per area (health, impact, equity,
operations, patterns, scorecards, rebuild, lag, erasure): what the routes call."""
