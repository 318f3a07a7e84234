"""Analyses that tell a real gap from judge noise."""
