"""HTTP routes of the notifications service (thin: parse, call, render)."""
