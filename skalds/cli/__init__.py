"""The `skalds` command: run each mode, a whole dev system, and drive tasks on a controller."""
