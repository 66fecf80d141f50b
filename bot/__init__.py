"""Recovery-support assistant: our own Python package (components, safety, storage, CLI)."""
