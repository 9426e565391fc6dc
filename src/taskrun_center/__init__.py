"""TaskRun Center: record every run of every background task.

Layer order, from the bottom up; a layer imports only from layers below it:

1. ``states``, ``errors``, ``i18n``, ``quoting``, ``config``, ``log_throttle``: shared
   vocabulary.
2. ``contract``: the summary envelope (pydantic models), task-type registry, builders,
   JSON normalisation, and the secret and capacity guards.
3. ``storage``: SQLAlchemy models, engine set-up and Alembic migrations.
4. ``lifecycle``: the write service (every status change goes through it) and the read service.
5. ``maintenance``: retention purge, full wipe, audit of stored rows, reaper.
6. ``runners``: the Python API for task authors, built-in tasks, scheduler, ``taskrun exec``,
   Celery integration.
7. ``web`` (REST API and console) and ``cli``: entry points; only they configure logging.
"""

__version__ = "0.1.0"
