"""The REST API (FastAPI): 0.3.8's paths, queries and fields, plus task creation and control."""
