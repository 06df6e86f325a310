"""crosspost.services."""
