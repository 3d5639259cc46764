"""Helpers for the scope tests."""
