"""The Ch.5 Inference case studies: every figure their rubric and model answer state is recomputed
here from the scenario's data, so an edit that breaks the arithmetic fails."""

from __future__ import annotations

import pytest
import yaml

from engine.functions import speculative_expected_tokens, speculative_speedup
from tests.conftest import ROOT

CASES = ROOT / "content" / "foundations-of-llms" / "case-studies"


def _texts(name: str) -> str:
    item = yaml.safe_load((CASES / f"{name}.yaml").read_text(encoding="utf-8"))
    levels = [level.get("description", "") for c in item["rubric"]["criteria"] for level in c["levels"]]
    return " ".join([item["stem"], item["solution"], *levels])


@pytest.fixture(scope="module")
def serving() -> str:
    return _texts("inference-serving-plan-long-prompt-assistant")


@pytest.fixture(scope="module")
def review() -> str:
    return _texts("inference-int4-speculative-proposal-review")


def test_serving_plan_memory_figures(serving: str) -> None:
    # 80 layers, 8 KV heads of 128, bf16: keys and values per token.
    per_token = 2 * 80 * 8 * 128 * 2
    assert per_token == 327_680 and per_token / 1024 == 320
    assert "327,680 B" in serving and "320 KiB" in serving
    assert f"{3400 * per_token / 1e9:.2f} GB" == "1.11 GB" and "1.11 GB" in serving
    assert f"{8000 * per_token / 1e9:.2f} GB" == "2.62 GB" and "2.62 GB" in serving
    cache = 640 - 140 - 0.1 * 640
    assert cache == 436 and "436 GB" in serving
    assert int(cache * 1e9 // (8000 * per_token)) == 166 and "166" in serving
    assert round(cache * 1e9 / (3400 * per_token)) == 391 and "391" in serving


def test_serving_plan_decode_operating_point(serving: str) -> None:
    steps = {32: 19.0, 128: 35.0, 256: 58.0}  # ms, the scenario's table
    assert round(32 / (steps[32] / 1000)) == 1684 and "1,684 tokens/s" in serving
    assert round(128 / (steps[128] / 1000)) == 3657 and "3,657 tokens/s" in serving
    slope = (steps[256] - steps[128]) / 128
    assert f"{slope:.2f} ms" == "0.18 ms" and "0.18 ms" in serving
    step_at_170 = steps[128] + (170 - 128) * slope
    assert f"{step_at_170:.1f}" == "42.5" and "42.5 ms" in serving
    assert abs(170 / (step_at_170 / 1000) - 4000) < 5  # the demand, 10 × 400 tokens/s
    assert abs(10 * 400 * step_at_170 / 1000 - 170) < 0.5  # Little's law: requests in flight


def test_serving_plan_prefill_compute(serving: str) -> None:
    peak = 7.9e15
    full = 10 * 3000 * 2 * 70e9
    cached = 10 * 1000 * 2 * 70e9
    assert full == 4.2e15 and round(100 * full / peak) == 53
    assert cached == 1.4e15 and round(100 * cached / peak) == 18
    assert "4.2 PFLOP/s" in serving and "53%" in serving
    assert "1.4 PFLOP/s" in serving and "18%" in serving


def test_review_memory_figures(review: str) -> None:
    bits = 4 + 16 / 128
    assert bits == 4.125 and "4.125" in review
    gigabytes = 34 * bits / 8
    assert f"{gigabytes:.1f}" == "17.5" and "17.5 GB" in review
    assert f"{68 / gigabytes:.1f}" == "3.9" and "3.9" in review


def test_review_speculative_figures(review: str) -> None:
    alphas = {"chat": 0.78, "code": 0.62, "non-English": 0.41}
    shares = {"chat": 0.6, "code": 0.25, "non-English": 0.15}
    tokens = {k: float(speculative_expected_tokens(a, 4)) for k, a in alphas.items()}
    speedups = {k: float(speculative_speedup(a, 4, 0.05)) for k, a in alphas.items()}
    assert [f"{tokens[k]:.2f}" for k in alphas] == ["3.23", "2.39", "1.68"]
    assert [f"{speedups[k]:.2f}" for k in alphas] == ["2.69", "1.99", "1.40"]
    for figure in ("3.23", "2.39", "1.68", "2.69", "1.99", "1.40"):
        assert figure in review
    time_per_token = sum(shares[k] / speedups[k] for k in alphas)
    assert f"{time_per_token:.3f}" == "0.456" and "0.456" in review
    assert f"{1 / time_per_token:.2f}" == "2.19" and "2.19" in review
    arithmetic_mean = sum(shares[k] * speedups[k] for k in alphas)
    assert f"{arithmetic_mean:.2f}" == "2.32" and "2.32" in review
