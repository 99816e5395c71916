"""The HTTP routes of the sessions service (thin: parse, call the application, render)."""
