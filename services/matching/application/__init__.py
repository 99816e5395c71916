"""Matching's commands and queries: pairings (the workflow after a proposal), rounds
(a whole cohort at once), planning (one mentee: suggestions, next best, re-pairing,
rotation), the seat rules every step that records a pairing checks, and the reactions
to other services' events (early warnings, resolved escalations)."""
