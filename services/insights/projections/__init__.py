"""The tables of insights (``tables.py``), the fact store and the read models kept
from the facts, and what every inbound event does to them (``inbound.py``)."""
