"""Adapters for the application's ports: Redis, the embedded server, outside services."""
