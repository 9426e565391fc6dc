"""The web layer: REST API v1 and the server-rendered console, served by one FastAPI app.

``create_app`` builds the application for a database; ``server.serve`` runs it with uvicorn.
Routes only read through the read service and change state through the write service or the
dispatcher, so every rule about runs is enforced below this layer.
"""

from taskrun_center.web.app import create_app

__all__ = ["create_app"]
