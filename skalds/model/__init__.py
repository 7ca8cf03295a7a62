"""Wire formats shared by nodes, workers and the controller (pydantic models)."""
