"""Settings, read from the environment and ``.env`` with the seed's names, and parsed once into
typed values (``values``) by the one ``Settings`` model (``model``)."""

from ai_gateway.settings.model import Settings
from ai_gateway.settings.values import ApiKeyEntry, IPNetwork, parse_api_key

__all__ = ["ApiKeyEntry", "IPNetwork", "Settings", "parse_api_key"]
