"""Commands, queries and inbound-event reactions of the notifications service."""
