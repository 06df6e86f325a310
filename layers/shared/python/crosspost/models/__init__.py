"""Models kept apart by purpose: ``domain`` (entities), ``api`` (wire contract), ``messages`` (queue)."""
