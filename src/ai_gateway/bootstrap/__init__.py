"""The composition root: settings → adapters → DI container → application and workers.

One room per concern: ``storage`` (Redis, prompts, jobs, objects), ``outside`` (GenAI, downloads,
callbacks, client-credentials tokens), ``messaging`` (mediator and job dispatcher, from the
handler ``registry``), ``container`` (the one place providers are assembled and overridden),
``http`` and ``worker`` (what only one entry point needs) and ``serve`` (the API with its
in-process worker). Nothing runs at import time; ``create_app`` stays here as the ASGI factory
(``uvicorn ai_gateway.bootstrap:create_app --factory``)."""

from ai_gateway.bootstrap.serve import create_app

__all__ = ["create_app"]
