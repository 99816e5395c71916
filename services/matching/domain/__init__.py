"""The matching domain: scoring, rules, optimiser, fairness, pairings. No framework."""
