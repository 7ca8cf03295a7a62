"""Seed-compatible public wrappers over the transport adapters."""
