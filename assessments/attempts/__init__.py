"""Attempts: start or resume, autosave, submit, review as the policy allows, and the sweep."""
