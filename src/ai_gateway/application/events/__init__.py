"""Handlers of integration events: CloudEvents received from other services, by type."""
