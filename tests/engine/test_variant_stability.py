"""Every content item's variants stay what they were (see variant_fingerprints.py), on any CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.engine.variant_fingerprints import FIXTURE, ROOT, content_items, item_fingerprint

_FROZEN: dict[str, str] = json.loads(FIXTURE.read_text())
_ITEMS = content_items()


def test_the_fixture_covers_every_loadable_item() -> None:
    assert sorted(_ITEMS) == sorted(_FROZEN)


@pytest.mark.parametrize("name", sorted(_FROZEN), ids=lambda name: name.rsplit("#", 1)[-1])
def test_variants_are_unchanged(name: str) -> None:
    assert name in _ITEMS, f"{name} no longer loads"
    changed = "a variant changed: compare item_fingerprints() seed by seed"
    assert item_fingerprint(_ITEMS[name]) == _FROZEN[name], changed


def _simd_beyond_baseline() -> list[str]:
    """The SIMD targets numpy dispatches to on this CPU beyond the baseline it was built for."""
    from numpy._core import _multiarray_umath as umath

    features = getattr(umath, "__cpu_features__", {})
    return [name for name in getattr(umath, "__cpu_dispatch__", []) if features.get(name)]


# Items whose exact bits differ between numpy's AVX-512 and AVX2 kernels (exp, log and their kin).
_NUMERIC = [name for name in sorted(_FROZEN) if name.rsplit("#", 1)[-1] in
            {"dpo-loss-value", "softmax-temperature-token-probability", "kl-k3-estimate-value",
             "cross-entropy-next-token-loss", "ranking-loss-margin-llama2"}]


def test_the_fingerprints_do_not_depend_on_the_cpus_simd() -> None:
    """The same fingerprints with numpy held to its baseline instructions (as on an older CPU):
    an attempt stored on one machine regenerates the same variant on another."""
    wider = _simd_beyond_baseline()
    if not wider:
        pytest.skip("numpy uses no SIMD beyond its baseline on this CPU: nothing to compare")
    assert len(_NUMERIC) == 5
    script = ("import json, sys; from tests.engine.variant_fingerprints import content_items, item_fingerprint; "
              "items = content_items(); print(json.dumps({n: item_fingerprint(items[n]) for n in sys.argv[1:]}))")
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(wider), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script, *_NUMERIC], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300, check=True)
    assert json.loads(done.stdout) == {name: _FROZEN[name] for name in _NUMERIC}
