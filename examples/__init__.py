"""Example applications that declare tasks; import them with ``TASKRUN_TASK_MODULES``."""
