"""Use cases: commands, queries, their handlers, the mediator and the ports adapters implement."""
