"""REST API v1 routers; every response is ``{"success", "message", "data"}`` or a failure body."""
