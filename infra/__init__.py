"""The CDK app of crosspost: ``stack.py`` composes the constructs in ``constructs/``.

Every name, key schema, route and permission comes from ``crosspost.resources`` (the shared
package), the same definitions the embedded local stack is built from.
"""
