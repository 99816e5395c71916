"""HTTP routes and current-state tables of the advisors service."""
