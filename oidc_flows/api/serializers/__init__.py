"""Serializers of the management API, one module per resource family."""
