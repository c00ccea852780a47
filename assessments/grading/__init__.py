"""Grading: manual grades by rubric or fraction, regrade with a dry-run diff, grades and gradebook."""
