"""Matching's current-state tables (``tables.py``) and the read models kept in them:
the candidate view (from profiles and advisors), pairings with their private texts,
the pool a round pairs, and rotation plans."""
