"""The HTTP contract's bodies (API.md), camelCase on the wire: one module per resource, so a function
imports the models of the routes it serves and no others (cold start, issue #8). Requests are
validated here, at the edge; responses are built from domain entities by ``from_domain``."""
