"""Storage: the tracker store configuration and, later, our own tables."""
