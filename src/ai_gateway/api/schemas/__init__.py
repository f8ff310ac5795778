"""Wire models: the public JSON contract, kept apart from the domain."""
