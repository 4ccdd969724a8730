"""The service's decisions as pure functions: no I/O, no Flask, no SQLAlchemy, no Redis (issue 20).

Nothing here imports the project outside `rules/`; tests/unit/test_import_layers.py holds that.
"""
