"""crosspost.aws."""
