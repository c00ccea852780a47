"""The package as a whole: its docstring examples run, and it needs nothing but numpy."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

from tests.conftest import ROOT

MODULES = ["ability", "classical", "computed", "irt", "mastery", "mml", "quadrature", "responses"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name: str) -> None:
    module = importlib.import_module(f"engine.psychometrics.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_importing_psychometrics_loads_no_scipy() -> None:
    # scipy may be installed (girth, for the benchmark, brings it) but is not a dependency.
    code = "import sys, engine.psychometrics; print('scipy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_the_public_names_of_the_design_are_exported() -> None:
    import engine.psychometrics as psy

    for name in ("item_statistics", "test_statistics", "fit_rasch", "fit_2pl", "ability",
                 "facility_by_range", "misconception_rates", "concept_mastery"):
        assert name in psy.__all__
        assert callable(getattr(psy, name))
