"""Lifecycle: the write service (every status change goes through it) and the read service."""
