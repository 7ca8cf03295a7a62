"""The three ports (events, task store, live state) and their adapters.

The runtime and the controller use only the protocols in `ports`; which adapter serves
them is decided by configuration in `factory`.
"""
