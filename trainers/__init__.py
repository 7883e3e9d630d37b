"""Batch and online trainers that clone observed bots (not built yet: issue 6)."""
