"""Rules of who is told what, and when: no framework here."""
