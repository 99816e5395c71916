"""The HTTP routes of insights, thin: parse, call the application, render."""
