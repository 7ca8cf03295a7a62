"""Real Kafka, FerretDB (MongoDB wire protocol) and Redis for development and integration tests.

Run ``scripts/services up|down|status`` (or ``python -m skalds.devservices``). Everything is
installed from package registries on first use and cached outside the clone, so a second ``up``
in any checkout takes seconds. See ``config.py`` for the environment variables.
"""
