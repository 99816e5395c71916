"""The REST API of the matching service (what the gateway calls)."""
