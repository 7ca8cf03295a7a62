"""The user's worker API, the worker process runtime and the node's supervisor."""
