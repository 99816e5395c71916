"""The matching domain: scoring, rules, optimiser, fairness, pairings. No framework.

Pure code on profiles and numpy arrays; the application layer feeds it and publishes
what it decides. Entry points for the matching service:

- ``round.run_round(mentees, mentors, config, forbidden=, pinned=, progress=)`` runs a
  whole round and returns a ``MatchingRound`` (pairs, explanations, fairness, circles);
- ``candidates``: ``MenteeProfile`` / ``MentorProfile`` (``from_records`` builds them
  from the profiles contract's payloads), ``PairRef``;
- ``config``: ``MatchingConfig`` (weights, programme type, rules, mode, fairness);
- ``suggestions.SuggestionBoard``: self-service top-N lists under an exposure cap;
- lower level: ``encoding.encode``, ``scoring.score_matrix`` / ``scoring.explain``,
  ``rules.feasibility``, ``optimiser.solve``, ``fairness.rebalance`` /
  ``fairness.distribution``, ``circles.circles``.

Submodules are imported where used (nothing here), so the pairing aggregates do not
pull in numpy and scipy.
"""
