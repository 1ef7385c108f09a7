"""Viewsets of the management API, one module per resource family; each has ``routes(router)``."""
