"""Baton's domain: the handoff lifecycle, the decisions about it, and the ports to the outside world.

Nothing in this package talks to a network, a chat platform, a CRM or a web framework; persistence lives
in :mod:`handoff.store`, which is the only part that knows SQLAlchemy.
"""
