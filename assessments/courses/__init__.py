"""Courses and enrolments."""
