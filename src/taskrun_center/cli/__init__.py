"""The ``taskrun`` command line: one module per command group, mounted by ``app``."""
