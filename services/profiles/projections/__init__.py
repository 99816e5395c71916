"""The current-state tables of the profiles service and what keeps them."""
