"""Schema revisions, oldest first; each docstring says why it exists and what it locks."""
