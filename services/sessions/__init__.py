"""The sessions service: the mentoring relationship from contract to debrief.

It owns each relationship started by a confirmed pairing (its learning contract,
pauses and conclusion), the sessions of the pair (scheduling within both people's
windows, calendars), notes, journals and feedback, anonymous pulse surveys, and the
development record (milestones, check-ins, rotations, escalations). Free text people
write is kept out of the events, sealed with its author's key, and forgotten when the
author is erased. ``main.py`` wires it; ``application/``, ``projections/`` and
``api/`` hold the rest, one module per area.
"""
