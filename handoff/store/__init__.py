"""Persistence: SQLAlchemy 2.x models, repositories, the unit of work, the outbox store, migrations."""
