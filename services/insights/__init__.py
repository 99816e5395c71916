"""The insights service: read models for evidence (scorecards, health, equity, impact)."""
