"""The advisors service's HTTP routes: thin routers over the application."""
