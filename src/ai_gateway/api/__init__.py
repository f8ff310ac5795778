"""HTTP edge: controllers, authentication, wire schemas and the one error-to-problem mapping."""
