"""The matching service owns who is paired with whom: the candidate view it keeps from
the profiles and advisors topics, matching rounds that pair a whole cohort (explained,
optimal, fair), the pairings workflow from proposal to end (with the seat rules and the
private texts of each pairing), and one mentee's suggestions, re-pairing and rotation
plans. It publishes ``tandem.matching.v1`` and reacts to sessions' resolved escalations
and insights' early warnings."""
