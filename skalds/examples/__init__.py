"""Built-in workers for demos and first runs."""
