"""Prometheus metrics: every metric the gateway exports is defined in ``definitions``, once.

API and worker code observe them through small meters (``prompts``, ``providers``) or directly
(the job worker, the JWKS cache); ``exposition`` renders them, ``access`` decides who may read
them and ``worker_endpoint`` serves a worker's ``/metrics``, ``/health`` and ``/ready``. Labels
stay bounded: no prompt ids or URLs, callers only by their configured names (``labels``)."""
