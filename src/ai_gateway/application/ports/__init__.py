"""Ports: what the use cases need from the outside world, one module per family, implemented in
``integration``. Import each port from its own module; this package re-exports nothing."""
