"""Custom Rasa graph components (NLU pipeline and policies)."""
