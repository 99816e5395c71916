"""The notifications service tells people and systems what happened in their
programme. It consumes the integration events it needs (matching's pairings,
sessions' relationships and sessions, insights' early warnings, profiles' status
changes), decides who is told what (never someone erased or deactivated, one
notification per event and recipient however often the event is delivered), keeps
each person's in-app inbox and their preferences (channels, unsubscription from all
but what their programme requires, quiet hours, a daily digest), and owns the
delivery outbox through which the other channels are reached."""
