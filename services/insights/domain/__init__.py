"""Pure computations of insights (no framework): given facts, return judgements."""
