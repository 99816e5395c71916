"""The matching service: explainable, optimal, fair pairing for a whole cohort."""
