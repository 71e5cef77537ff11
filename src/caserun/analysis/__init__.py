"""Analysis: answers computed from history, in SQL where it can be."""
