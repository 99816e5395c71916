"""The sessions domain: relationships, contracts, sessions, milestones, notes. No framework."""
