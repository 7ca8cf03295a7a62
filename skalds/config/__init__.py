"""Configuration: keyword arguments, environment variables and `.env`, read in one place."""
