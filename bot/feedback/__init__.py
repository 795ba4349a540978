"""Turns, votes and hand-offs: the store protocol and records (store.py), SQLite, PostgreSQL, the recorder."""
