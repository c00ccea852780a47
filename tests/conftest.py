"""Shared test helpers: items built from YAML text, and the corpora location."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def corpora_dir() -> Path | None:
    """``ASSAY_CORPORA`` or ``../shared/corpora``; None when absent (a user's clone)."""
    configured = os.environ.get("ASSAY_CORPORA")
    path = Path(configured) if configured else ROOT.parent / "shared" / "corpora"
    return path if path.is_dir() else None


@pytest.fixture
def corpora() -> Path:
    path = corpora_dir()
    if path is None:
        if os.environ.get("ASSAY_CORPORA"):
            pytest.fail(f"ASSAY_CORPORA is set but {os.environ['ASSAY_CORPORA']} is missing")
        pytest.skip("the shared reference corpora are not beside this clone (set ASSAY_CORPORA)")
    return path
