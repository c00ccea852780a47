"""Assay's engine: a pure library of items, computed answers, grading and attempts.

It imports nothing from the service (``assessments``), SQLAlchemy, FastAPI or Jinja2: it takes
plain data and returns plain data, so a notebook can ``import engine`` and grade a million
responses. Submodules load on first use to keep ``import engine`` light.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
