"""Alembic environment of the product's schema; ``storage.migrate`` drives it."""
