"""The user's worker API and what runs inside a worker process."""
