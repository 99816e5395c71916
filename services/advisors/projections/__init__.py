"""Current-state tables of the advisors service and the modules that keep them."""
