"""crosspost.api.routes."""
