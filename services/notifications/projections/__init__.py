"""The notifications service's current-state tables and the handlers keeping them."""
