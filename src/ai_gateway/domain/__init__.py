"""The prompt model: entity, status machine, value objects, events and errors (stdlib only)."""
