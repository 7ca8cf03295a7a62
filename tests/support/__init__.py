"""Helpers shared by the test suites: test workers, a node runner, service endpoints."""
