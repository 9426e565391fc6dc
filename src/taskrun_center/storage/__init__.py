"""Storage: SQLAlchemy models, engine set-up and Alembic migrations for SQLite and PostgreSQL."""
