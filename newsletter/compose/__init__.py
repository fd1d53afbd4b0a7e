"""Compose: an issue file plus its articles become an ``Issue`` of summarised sections."""
