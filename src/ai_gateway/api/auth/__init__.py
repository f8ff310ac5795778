"""Authentication: API keys now; bearer tokens plug in through ``BearerAuthenticator``."""
