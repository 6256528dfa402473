"""Verdicts: whether differences between methods are real, and whether claims hold."""
