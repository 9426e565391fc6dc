"""Alembic environment: run the revisions on the URL (or connection) given by ``storage.migrate``.

Only online migrations are supported: the URL arrives in ``config.attributes["url"]`` rather than
in an ini file, so that it works from an installed package and from any working directory.
"""

from __future__ import annotations

from alembic import context

from taskrun_center.storage.engine import create_engine_for
from taskrun_center.storage.models import Base

config = context.config


def run_migrations_online() -> None:
    """Open a connection to the configured URL and apply the requested revisions."""
    url = config.attributes["url"]
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                # SQLite cannot ALTER most things in place; batch mode copies the table instead.
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                # SQLite runs DDL inside transactions too, so a failed revision leaves nothing
                # behind on either database.
                transactional_ddl=True,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; pass a database URL")
run_migrations_online()
