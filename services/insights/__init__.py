"""The insights service: the evidence read models of the programme. It consumes every
other service's events, keeps each as a fact (its own history, screened of free text
and of erased people), and computes from the facts relationship health and early
warnings (which it publishes), balanced scorecards, equity, pairing patterns,
programme operations and mentor impact, "now" or as of a past date; it rebuilds its
read models from the facts without stopping, and forgets an erased person everywhere
while keeping a keyed tombstone and a receipt."""
