"""The REST API of the profiles service (what the gateway calls): thin routers over
the application, and the SCIM documents they render."""
