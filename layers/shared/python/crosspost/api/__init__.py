"""crosspost.api."""
