"""The arithmetic of the seven RLHF case studies (Ch.4 Alignment): every figure their rubrics and
model answers state is recomputed here from the scenario's tables, read out of the stem, with the
function library where one computes it (Bradley-Terry) and plain arithmetic otherwise (a KL
penalty is β times the KL, a net objective reward minus it); the verdicts the rubrics draw from
the tables (which pilot fails which requirement, which step was the last healthy one, where the
gold reward peaks) are recomputed too. A change to a table, or a slip in a rubric, fails here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np
import pytest

from engine.functions import bradley_terry_prob
from tests.conftest import ROOT
from tests.content.essay_figures import Essay, Figure, load_essay, number, numbers, table

CASES = ROOT / "content" / "foundations-of-llms" / "case-studies"

Data = dict[str, float]
D = Callable[[str], float]


def _essay(name: str) -> Essay:
    return load_essay(CASES / f"{name}.yaml")


def _given(text: str, pattern: str) -> float:
    """A number the stem gives in prose, e.g. ``\\beta = ([\\d.]+)``."""
    match = re.search(pattern, text)
    assert match, f"the stem no longer gives {pattern!r}"
    return float(match.group(1).replace(",", "").rstrip("."))  # a sentence may end after it


def _columns(stem: str, header: str, names: list[str]) -> Data:
    """The table's cells as ``name@row`` (a cell with two numbers, ``a → b`` or ``a / b``, as
    ``name@row`` and ``name2@row``)."""
    data: Data = {}
    for row, cells in table(stem, header).items():
        for name, cell in zip(names, cells, strict=False):
            if not name or not re.search(r"\d", cell):
                continue
            found = numbers(cell)
            data[f"{name}@{row}"] = found[0]
            if len(found) > 1:
                data[f"{name}2@{row}"] = found[1]
    return data


# --- reward-model ranking versus PPO's KL ---------------------------------------------------------

CONFLICTING = "rlhf-conflicting-signals-reward-ranking-vs-ppo-kl"
CHAT, CODE, SAFE = "chit-chat and advice", "coding", "safety-sensitive"


def _conflicting(essay: Essay) -> Data:
    data = _columns(essay.stem, "prompt category", ["share", "accuracy", "margin", "ece"])
    data |= _columns(essay.stem, "category", ["rm", "kl", "win", "length"])
    data["beta"] = _given(essay.stem, r"with \$\\beta = ([\d.]+)\$")
    data["r_a"] = _given(essay.stem, r"\$r_A = ([\d.]+)\$")
    data["r_b"] = _given(essay.stem, r"\$r_B = ([\d.]+)\$")
    return data


def _net(d: D, category: str) -> float:
    """The objective's net gain: the RM score change minus β times the KL it cost."""
    return d(f"rm@{category}") - d("beta") * d(f"kl@{category}")


CONFLICTING_FIGURES = [
    Figure(r"$P(A \succ B) = \sigma(1.2) \approx 0.77$", "1.2", lambda d: d("r_a") - d("r_b")),
    Figure(r"$P(A \succ B) = \sigma(1.2) \approx 0.77$", "0.77",
           lambda d: float(bradley_terry_prob(d("r_a"), d("r_b")))),
    Figure("a 0.77 preference for the buggy, longer answer", "0.77",
           lambda d: float(bradley_terry_prob(d("r_a"), d("r_b")))),
    Figure("which matches the +65% length", "65", lambda d: d(f"length@{CODE}")),
    # 0.45 × 76 + 0.30 × 61 + 0.25 × 88 = 74.5, printed whole (once "74%", which rounds it half to even)
    Figure("| **overall** | | **74.5%** | | |", "74.5",
           lambda d: sum(d(f"share@{c}") * d(f"accuracy@{c}") for c in (CHAT, CODE, SAFE)) / 100),
    Figure("Accepts the 74.5% overall accuracy", "74.5", lambda d: d("accuracy@overall")),
    Figure("Notes that coding accuracy (61%) is low", "61", lambda d: d(f"accuracy@{CODE}")),
    Figure("confident (large margins 1.6, ECE 0.19)", "1.6", lambda d: d(f"margin@{CODE}")),
    Figure("confident (large margins 1.6, ECE 0.19)", "0.19", lambda d: d(f"ece@{CODE}")),
    Figure("coding 1.4 − 0.05 × 14.2 ≈ 0.69", "1.4", lambda d: d(f"rm@{CODE}")),
    Figure("coding 1.4 − 0.05 × 14.2 ≈ 0.69", "0.05", lambda d: d("beta")),
    Figure("coding 1.4 − 0.05 × 14.2 ≈ 0.69", "14.2", lambda d: d(f"kl@{CODE}")),
    Figure("coding 1.4 − 0.05 × 14.2 ≈ 0.69", "0.69", lambda d: _net(d, CODE)),
    Figure("chit-chat 0.3 − 0.05 × 3.1 ≈ 0.15", "3.1", lambda d: d(f"kl@{CHAT}")),
    # 0.145, rounded half up (in binary floating point it lies a hair below)
    Figure("chit-chat 0.3 − 0.05 × 3.1 ≈ 0.15", "0.15", lambda d: _net(d, CHAT), tolerance=0.0051),
    Figure("900 comparisons make 44% vs 58% hard to dismiss", "44", lambda d: d(f"win@{CODE}")),
    Figure("900 comparisons make 44% vs 58% hard to dismiss", "58", lambda d: d(f"win@{CHAT}")),
    Figure("over-confident (mean margin 1.6, ECE 0.19)", "0.19", lambda d: d(f"ece@{CODE}")),
    Figure("Coding nets about 1.4 − 0.71 = 0.69 against 0.15 for chit-chat", "0.71",
           lambda d: d("beta") * d(f"kl@{CODE}")),
    Figure("Coding nets about 1.4 − 0.71 = 0.69 against 0.15 for chit-chat", "0.69", lambda d: _net(d, CODE)),
    Figure("Coding nets about 1.4 − 0.71 = 0.69 against 0.15 for chit-chat", "0.15",
           lambda d: _net(d, CHAT), tolerance=0.0051),
    Figure("furthest (14.2 nats)", "14.2", lambda d: d(f"kl@{CODE}")),
    Figure("the human win rate (44% on 900 blind", "44", lambda d: d(f"win@{CODE}")),
]


def test_conflicting_signals_claims() -> None:
    essay = _essay(CONFLICTING)
    data = _conflicting(essay)
    # PPO spends divergence where the net gain per nat is highest: coding, where the RM is least accurate
    gains = {c: _net(data.__getitem__, c) for c in (CHAT, CODE, SAFE)}
    assert max(gains, key=gains.__getitem__) == CODE == min((CHAT, CODE, SAFE), key=lambda c: data[f"accuracy@{c}"])
    # "900 comparisons make 44% vs 58% hard to dismiss as noise": split evenly over the three
    # categories, 300 each, the difference is more than three standard errors
    n = _given(essay.stem, r"win rate from ([\d,]+) blind") / 3
    low, high = data[f"win@{CODE}"] / 100, data[f"win@{CHAT}"] / 100
    assert (high - low) / math.sqrt(low * (1 - low) / n + high * (1 - high) / n) > 3


# --- drift after deployment -----------------------------------------------------------------------

DRIFT = "rlhf-post-deployment-drift-diagnosis"
TOOL, OTHER = "tool-use prompts", "other prompts"


def _drift(essay: Essay) -> Data:
    data = _columns(essay.stem, "week", ["share", "thumbs", "thumbs_tool", "rm", "accuracy", "margin"])
    data |= _columns(essay.stem, "segment", ["rm", "kl", "thumbs_change"])
    data["beta"] = _given(essay.stem, r"raised to ([\d.]+)")
    return data


def _moved(d: D, segment: str) -> float:
    return d(f"kl2@{segment}") - d(f"kl@{segment}")


def _hotfix_net(d: D, segment: str) -> float:
    return d(f"rm@{segment}") - d("beta") * _moved(d, segment)


DRIFT_FIGURES = [
    Figure("(tool-use 9% → 27%)", "9", lambda d: d("share@0")),
    Figure("(tool-use 9% → 27%)", "27", lambda d: d("share@10")),
    Figure("(tool-use accuracy 58%, near chance", "58", lambda d: d("accuracy2@10")),
    Figure("tool-use thumbs-up also fell 70% → 55%", "70", lambda d: d("thumbs_tool@0")),
    Figure("tool-use thumbs-up also fell 70% → 55%", "55", lambda d: d("thumbs_tool@10")),
    Figure("(+1.1 RM-1, KL 9.5 → 18 nats, −6 points)", "1.1", lambda d: d(f"rm@{TOOL}")),
    Figure("(+1.1 RM-1, KL 9.5 → 18 nats, −6 points)", "9.5", lambda d: d(f"kl@{TOOL}")),
    Figure("(+1.1 RM-1, KL 9.5 → 18 nats, −6 points)", "18", lambda d: d(f"kl2@{TOOL}")),
    Figure("(+1.1 RM-1, KL 9.5 → 18 nats, −6 points)", "6", lambda d: -d(f"thumbs_change@{TOOL}")),
    Figure("(the policy still moved 8.5 nats on tool-use)", "8.5", lambda d: _moved(d, TOOL)),
    Figure("+1.1 RM-1 for 8.5 extra nats (a penalty of 0.85 at β = 0.1, net +0.25)", "8.5",
           lambda d: _moved(d, TOOL)),
    Figure("+1.1 RM-1 for 8.5 extra nats (a penalty of 0.85 at β = 0.1, net +0.25)", "0.85",
           lambda d: d("beta") * _moved(d, TOOL)),
    Figure("+1.1 RM-1 for 8.5 extra nats (a penalty of 0.85 at β = 0.1, net +0.25)", "0.25",
           lambda d: _hotfix_net(d, TOOL)),
    Figure("against +0.2 for 0.4 nats elsewhere (net +0.16)", "0.2", lambda d: d(f"rm@{OTHER}")),
    Figure("against +0.2 for 0.4 nats elsewhere (net +0.16)", "0.4", lambda d: _moved(d, OTHER)),
    Figure("against +0.2 for 0.4 nats elsewhere (net +0.16)", "0.16", lambda d: _hotfix_net(d, OTHER)),
    Figure("tool-use went from 9% to 27% of prompts", "27", lambda d: d("share@10")),
    Figure("(70% → 55%), as the new feature", "55", lambda d: d("thumbs_tool@10")),
    Figure("its accuracy on fresh pairs fell (73% → 62%,", "73", lambda d: d("accuracy@0")),
    Figure("its accuracy on fresh pairs fell (73% → 62%,", "62", lambda d: d("accuracy@10")),
    Figure("and 58% on tool-use, near chance)", "58", lambda d: d("accuracy2@10")),
    Figure("flat mean (1.30–1.33)", "1.30", lambda d: min(d(f"rm@{w}") for w in ("0", "4", "8", "10"))),
    Figure("flat mean (1.30–1.33)", "1.33", lambda d: max(d(f"rm@{w}") for w in ("0", "4", "8", "10"))),
    Figure("(+1.1 reward, KL 9.5 → 18 nats, −6 points of thumbs-up)", "18", lambda d: d(f"kl2@{TOOL}")),
    Figure("8.5 nats cost 0.85 at β = 0.1, less than the 1.1 the RM paid for them (net +0.25", "0.85",
           lambda d: d("beta") * _moved(d, TOOL)),
    Figure("8.5 nats cost 0.85 at β = 0.1, less than the 1.1 the RM paid for them (net +0.25", "0.25",
           lambda d: _hotfix_net(d, TOOL)),
    Figure("+0.16 on other prompts)", "0.16", lambda d: _hotfix_net(d, OTHER)),
]


def test_drift_is_partly_mix_and_partly_within_the_segment() -> None:
    """"Lowering the overall thumbs-up partly through the mix ... so it is not only the mix": with
    the week-0 rates of each segment, the week-10 mix alone explains a part of the drop, not all."""
    data = _drift(_essay(DRIFT))
    share = {w: data[f"share@{w}"] / 100 for w in ("0", "10")}
    tool = {w: data[f"thumbs_tool@{w}"] for w in ("0", "10")}
    other = {w: (data[f"thumbs@{w}"] - share[w] * tool[w]) / (1 - share[w]) for w in ("0", "10")}
    drop = data["thumbs@0"] - data["thumbs@10"]
    mix_only = data["thumbs@0"] - (share["10"] * tool["0"] + (1 - share["10"]) * other["0"])
    assert 0 < mix_only < drop / 2  # 1.6 of 7 points
    assert tool["0"] - tool["10"] > other["0"] - other["10"] > 0  # tool-use fell most, the rest a little
    # the hot-fix's net gain per segment: positive where the RM is near chance, so PPO went there
    assert _hotfix_net(data.__getitem__, TOOL) > _hotfix_net(data.__getitem__, OTHER) > 0


# --- choosing an objective under product constraints -----------------------------------------------

OBJECTIVE = "rlhf-objective-choice-under-product-constraints"


def _failures(essay: Essay) -> dict[str, set[str]]:
    """Which requirement each pilot fails, from the stem's table and its stated limits."""
    stem = essay.stem
    win_bar = _given(stem, r"at least \*\*([\d.]+)%\*\*")
    harm_limit = _given(stem, r"at most \*\*([\d.]+)%\*\* on a fixed")
    refusal_limit = _given(stem, r"at most \*\*([\d.]+)%\*\* refusals")
    length_band = _given(stem, r"within \*\*±([\d.]+)%\*\*")
    failures = {}
    for option, cells in table(stem, "option").items():
        win, harm, refusal, length = (number(cell) for cell in cells[1:5])
        failures[option] = {name for name, fails in [
            ("win rate", win < win_bar), ("harm", harm > harm_limit),
            ("over-refusal", refusal > refusal_limit), ("length", abs(length) > length_band)] if fails}
    return failures


def test_objective_choice_verdicts_are_the_tables() -> None:
    essay = _essay(OBJECTIVE)
    rubric = essay.rubric
    assert ("A fails harm and length; B fails win rate (54%), over-refusal (9%) and length (+20%); "
            "C1 fails harm and length; C2 fails win rate and harm (0.7%); D narrowly misses harm (0.6%) "
            "and its 56% win rate is within the uncertainty of the 55% bar") in rubric
    assert _failures(essay) == {
        "A": {"harm", "length"},
        "B": {"win rate", "over-refusal", "length"},
        "C1": {"harm", "length"},
        "C2": {"win rate", "harm"},
        "D": {"harm"},
    }
    rows = table(essay.stem, "option")
    assert [number(c) for c in rows["B"][1:5]] == [54, 0.3, 9, 20]
    assert number(rows["C2"][2]) == 0.7 and number(rows["D"][2]) == 0.6 and number(rows["D"][1]) == 56
    # D's 56% is within the pilots' "about 3 points" of the 55% bar; A's 61% is not a tie with B's 54%
    margin = _given(essay.stem, r"less than about (\d+) points")
    assert abs(number(rows["D"][1]) - 55) < margin < number(rows["A"][1]) - number(rows["B"][1])
    for quoted in ("fails harm (1.4%) and length (+48%)", "over-refuses (9%), misses the win rate and runs long (+20%)",
                   "still at 0.7% harm", "(harm 0.6%, win rate 56% within noise of 55%)"):
        assert quoted in essay.text, quoted
    assert [number(c) for c in rows["A"][2:5:2]] == [1.4, 48]


# --- PPO training instability -----------------------------------------------------------------------

INSTABILITY = "rlhf-ppo-training-instability-diagnosis"
DASHBOARD = ["rm", "kl", "approx_kl", "clip", "entropy", "value_loss", "explained", "length", "grad"]


def _instability(essay: Essay) -> Data:
    data = _columns(essay.stem, "step", DASHBOARD)
    data["beta"] = _given(essay.stem, r"penalty\s+\$\\beta = ([\d.]+)\$")
    data["prompts"] = _given(essay.stem, r"([\d,]+) prompts per rollout batch")
    data["epochs"] = _given(essay.stem, r"\*\*(\d+) PPO epochs\*\*")
    data["minibatch"] = _given(essay.stem, r"minibatches of (\d+)")
    return data


INSTABILITY_FIGURES = [
    Figure("in minibatches of 64 (32 optimiser steps per batch)", "32",
           lambda d: d("prompts") / d("minibatch") * d("epochs")),
    Figure("approx_kl tripling to 0.045", "0.045", lambda d: d("approx_kl@250")),
    Figure("clip fraction doubling to 0.24", "0.24", lambda d: d("clip@250")),
    Figure("KL to ref jumping to 11.5", "11.5", lambda d: d("kl@250")),
    Figure("entropy 1.4→0.9", "1.4", lambda d: d("entropy@200")),
    Figure("entropy 1.4→0.9", "0.9", lambda d: d("entropy@250")),
    Figure("the penalty 0.02 × 27 = 0.54 in reward units", "0.02", lambda d: d("beta")),
    Figure("the penalty 0.02 × 27 = 0.54 in reward units", "27", lambda d: d("kl@300")),
    Figure("the penalty 0.02 × 27 = 0.54 in reward units", "0.54", lambda d: d("beta") * d("kl@300")),
    Figure("small next to an RM gain of 3.8", "3.8", lambda d: d("rm@300") - d("rm@0")),
    Figure("(last with approx_kl ≤ 0.015, clip fraction ≈ 0.1, explained variance 0.5)", "0.015",
           lambda d: d("approx_kl@200")),
    Figure("(last with approx_kl ≤ 0.015, clip fraction ≈ 0.1, explained variance 0.5)", "0.1",
           lambda d: d("clip@200"), tolerance=0.02),
    Figure("(last with approx_kl ≤ 0.015, clip fraction ≈ 0.1, explained variance 0.5)", "0.5",
           lambda d: d("explained@200")),
    Figure("(approx_kl 0.015, clip fraction 0.11,", "0.11", lambda d: d("clip@200")),
    Figure("Between 200 and 250 approx_kl triples (0.045)", "0.045", lambda d: d("approx_kl@250")),
    Figure("doubles (0.24)", "0.24", lambda d: d("clip@250")),
    Figure("KL to ref jumps 6.8 → 11.5, entropy 1.4 → 0.9, length 260 → 340", "6.8", lambda d: d("kl@200")),
    Figure("KL to ref jumps 6.8 → 11.5, entropy 1.4 → 0.9, length 260 → 340", "260", lambda d: d("length@200")),
    Figure("KL to ref jumps 6.8 → 11.5, entropy 1.4 → 0.9, length 260 → 340", "340", lambda d: d("length@250")),
    Figure("The RM score at step 300 (3.9)", "3.9", lambda d: d("rm@300")),
    Figure("(1) Update size too large: 32 optimiser steps per batch", "32",
           lambda d: d("prompts") / d("minibatch") * d("epochs")),
    Figure("at β = 0.02 even 27 nats costs 0.54", "0.54", lambda d: d("beta") * d("kl@300")),
]


def test_instability_dating_and_ratios() -> None:
    essay = _essay(INSTABILITY)
    data = _instability(essay)
    assert "value loss triples" in essay.text and "(explained variance < 0)" in essay.text
    assert data["approx_kl@250"] / data["approx_kl@200"] == pytest.approx(3)  # "triples"
    assert 1.8 < data["clip@250"] / data["clip@200"] < 2.5  # "doubles"
    assert 2.5 < data["value_loss@250"] / data["value_loss@200"] < 3.5  # "value loss triples"
    steps = [int(s) for s in table(essay.stem, "step")]
    # step 200 is the last checkpoint inside PPO's usual trust region (approx_kl ≤ 0.02, clip ≤ 0.2)
    healthy = [s for s in steps if data[f"approx_kl@{s}"] <= 0.02 and data[f"clip@{s}"] <= 0.2]
    assert healthy == [s for s in steps if s <= 200]
    assert [s for s in steps if data[f"explained@{s}"] < 0] == [300, 350]
    # "value-loss growth follows, not precedes, the approx_kl jump": the value loss stays at or
    # below its start while approx_kl is within 0.02
    assert all(data[f"value_loss@{s}"] <= data["value_loss@0"] for s in healthy)


# --- PPO tuning: the proxy rises, the gold reward falls ------------------------------------------------

TUNING = "rlhf-ppo-tuning-reward-up-behaviour-down"


def _tuning(essay: Essay) -> Data:
    data = _columns(essay.stem, "PPO step", ["proxy", "gold", "kl", "length", "errors", "helpful"])
    data["beta"] = _given(essay.stem, r"\*\*fixed\*\* KL coefficient \$\\beta = ([\d.]+)\$")
    data["clip"] = _given(essay.stem, r"clip fraction steady at about\s+([\d.]+)")
    data["approx_kl"] = _given(essay.stem, r"approx_kl about\s+([\d.]+)")
    steps = list(table(essay.stem, "PPO step"))
    data["peak"] = float(max(steps, key=lambda s: data[f"gold@{s}"]))
    return data


def _at_peak(d: D, column: str) -> float:
    return d(f"{column}@{int(d('peak'))}")


def _at_kl(essay: Essay, column: str, kl: float) -> float:
    """A column interpolated at a KL to the reference, on the run's rising stretch up to the gold peak."""
    data = _tuning(essay)
    steps = [s for s in table(essay.stem, "PPO step") if int(s) <= data["peak"]]
    return float(np.interp(kl, [data[f"kl@{s}"] for s in steps], [data[f"{column}@{s}"] for s in steps]))


TUNING_FIGURES = [
    Figure("the gold RM peaks at about step 600 (KL ≈ 8 nats)", "600", lambda d: d("peak")),
    Figure("the gold RM peaks at about step 600 (KL ≈ 8 nats)", "8", lambda d: _at_peak(d, "kl")),
    Figure("gold RM peaks at step 600 (0.9, KL 8.3) and falls to 0.2 by KL 22", "0.9", lambda d: _at_peak(d, "gold")),
    Figure("gold RM peaks at step 600 (0.9, KL 8.3) and falls to 0.2 by KL 22", "8.3", lambda d: _at_peak(d, "kl")),
    Figure("gold RM peaks at step 600 (0.9, KL 8.3) and falls to 0.2 by KL 22", "0.2", lambda d: d("gold@1500")),
    Figure("gold RM peaks at step 600 (0.9, KL 8.3) and falls to 0.2 by KL 22", "22", lambda d: d("kl@1500")),
    Figure("(190 → 400)", "190", lambda d: d("length@0")),
    Figure("(190 → 400)", "400", lambda d: d("length@1500")),
    Figure("(8% → 19%)", "8", lambda d: d("errors@0")),
    Figure("(8% → 19%)", "19", lambda d: d("errors@1500")),
    Figure("With β = 0.01 the KL cost at 22 nats is only 0.22", "0.22", lambda d: d("beta") * d("kl@1500")),
    Figure("a lower final proxy reward (about 1.5 rather than 2.6)", "1.5", lambda d: _at_peak(d, "proxy")),
    Figure("a lower final proxy reward (about 1.5 rather than 2.6)", "2.6", lambda d: d("proxy@1500")),
    Figure("gold near its 0.9 peak", "0.9", lambda d: _at_peak(d, "gold")),
    Figure("The proxy plateaus lower (about 1.5)", "1.5", lambda d: _at_peak(d, "proxy")),
    Figure("helpfulness about 7.5", "7.5", lambda d: _at_peak(d, "helpful")),
    Figure("The optimiser is fine (clip fraction 0.18, approx_kl 0.02)", "0.18", lambda d: d("clip")),
    Figure("The optimiser is fine (clip fraction 0.18, approx_kl 0.02)", "0.02", lambda d: d("approx_kl")),
]


def test_tuning_predictions_at_the_proposed_kl_target() -> None:
    """The rubric's predictions for a KL target of 6-8 nats are what the run showed at that KL:
    length near 250-300, factual errors about 10%; and β of 0.05-0.1 is about ten times 0.01."""
    essay = _essay(TUNING)
    data = _tuning(essay)
    assert "target of about 6–8 nats" in essay.rubric and "length near 250–300" in essay.rubric
    assert "factual errors back to about 10%" in essay.rubric
    lengths = [_at_kl(essay, "length", kl) for kl in (6, 8)]
    assert 250 <= lengths[0] < lengths[1] <= 300  # 257 and 286
    assert all(abs(_at_kl(essay, "errors", kl) - 10) <= 1 for kl in (6, 8))  # 9.9% and 10.9%
    proxy = [data[f"proxy@{s}"] for s in table(essay.stem, "PPO step")]
    assert proxy == sorted(proxy) and len(set(proxy)) == len(proxy)  # "rises monotonically"
    assert "(or β of about 0.05–0.1)" in essay.text and "by roughly an order of magnitude" in essay.rubric
    assert 0.05 / data["beta"] >= 5 and 0.1 / data["beta"] == pytest.approx(10)


# --- a reward-hacking spike -----------------------------------------------------------------------

HACKING = "rlhf-reward-hacking-spike-root-cause"


def _hacking(essay: Essay) -> Data:
    return _columns(essay.stem, "step", ["rm", "kl", "approx_kl", "clip", "length", "great", "summary"])


HACKING_FIGURES = [
    Figure("(approx_kl ≈ 0.011 and clip fraction ≈ 0.12 are unchanged)", "0.011",
           lambda d: np.mean([d(f"approx_kl@{s}") for s in ("2,100", "2,400", "2,550", "2,700")]), tolerance=0.001),
    Figure("(approx_kl ≈ 0.011 and clip fraction ≈ 0.12 are unchanged)", "0.12",
           lambda d: np.mean([d(f"clip@{s}") for s in ("2,100", "2,400", "2,550", "2,700")]), tolerance=0.01),
    Figure("(length falls 310 → 295)", "310", lambda d: d("length@2,400")),
    Figure("(length falls 310 → 295)", "295", lambda d: d("length@2,700")),
    Figure("(3% → 64%, 12% → 81%)", "3", lambda d: d("great@2,400")),
    Figure("(3% → 64%, 12% → 81%)", "64", lambda d: d("great@2,700")),
    Figure("(3% → 64%, 12% → 81%)", "12", lambda d: d("summary@2,400")),
    Figure("(3% → 64%, 12% → 81%)", "81", lambda d: d("summary@2,700")),
    Figure("rising to 16", "16", lambda d: d("kl@2,700")),
    Figure("(310 → 295), so this is neither", "295", lambda d: d("length@2,700")),
]


def test_reward_hacking_evidence_is_the_logs() -> None:
    essay = _essay(HACKING)
    data = _hacking(essay)
    stem, text = essay.stem, essay.text
    steps = list(table(stem, "step"))
    # the optimiser statistics are flat while the reward jumps after the KL target was raised
    assert max(data[f"approx_kl@{s}"] for s in steps) - min(data[f"approx_kl@{s}"] for s in steps) <= 0.002
    assert max(data[f"clip@{s}"] for s in steps) - min(data[f"clip@{s}"] for s in steps) <= 0.01
    change = _given(stem, r"at step ([\d,]+) the adaptive KL")
    assert 2100 < change < 2400  # the target was raised between the logged rows 2,100 and 2,400
    before, after = data["rm@2,400"] - data["rm@2,100"], data["rm@2,700"] - data["rm@2,400"]
    assert after > 10 * before  # "the mean reward jumps within 300 steps" once it had the budget
    # the quoted evidence is the stem's
    for pattern, quoted in [(r"wins only \*\*(\d+)%\*\*", "31% win rate"),
                            (r"block scores \*\*([\d.]+)\*\*", "(template-only 3.9 vs expert 2.2)"),
                            (r"without either scores\s+\*\*([\d.]+)\*\*", "(template-only 3.9 vs expert 2.2)"),
                            (r"in \*\*(\d+)%\*\* of pairs", "templated 92% vs 38% elsewhere"),
                            (r"\((\d+)% in all other batches\)", "templated 92% vs 38% elsewhere"),
                            (r"the RM is (\d+)% accurate", "held-out V3 accuracy of 90%"),
                            (r"the templated version \*\*(\d+)%\*\*", "(96% preference for the template"),
                            (r"raised from\s+\*\*(\d+) to", "from 6 to 12 nats"),
                            (r"to (\d+) nats\*\*", "from 6 to 12 nats")]:
        value = _given(stem, pattern)
        assert quoted in text and re.search(rf"(?<![\d.]){value:g}(?![\d])", quoted), (pattern, quoted)


# --- a blueprint for a regulated assistant ----------------------------------------------------------

BLUEPRINT = "rlhf-blueprint-regulated-customer-support"


def _blueprint(essay: Essay) -> Data:
    stem = essay.stem
    return {
        "agents": _given(stem, r"\*\*([\d,]+) preference comparisons by"),
        "officers": _given(stem, r"\*\*([\d,]+) by compliance officers\*\*"),
        "flagged": _given(stem, r"(\d+)% were later flagged"),
        "audit": _given(stem, r"on a ([\d,]+)-conversation\s+audit sample"),
        "violations": _given(stem, r"rate below \*\*([\d.]+)%\*\*"),
        "recall": _given(stem, r"recall of at least \*\*([\d.]+)%\*\*"),
        "resolution": _given(stem, r"human baseline of \*\*([\d.]+)%\*\*"),
        "pairs": _given(stem, r"([\d,]+) compliance-reviewed"),
    }


BLUEPRINT_FIGURES = [
    Figure("Agents (25k)", "25", lambda d: d("agents") / 1000),
    Figure("compliance officers (3k)", "3", lambda d: d("officers") / 1000),
    Figure("on the 28k pairs", "28", lambda d: (d("agents") + d("officers")) / 1000),
    Figure("drop the 6% QA-flagged ones", "6", lambda d: d("flagged")),
    Figure("(dropping the 6% flagged)", "6", lambda d: d("flagged")),
    Figure("on 5,000 conversations this needs at most about 1", "5,000", lambda d: d("audit")),
    Figure("plus the 9,000 compliance pairs", "9,000", lambda d: d("pairs")),
    Figure("up-weight the 9,000 compliance pairs", "9,000", lambda d: d("pairs")),
    Figure("(violation rate < 0.1% with a confidence bound", "0.1", lambda d: d("violations")),
    Figure("on a 5,000-conversation audit, escalation recall ≥ 98%, resolution ≥ 71%", "5,000", lambda d: d("audit")),
    Figure("on a 5,000-conversation audit, escalation recall ≥ 98%, resolution ≥ 71%", "98", lambda d: d("recall")),
    Figure("on a 5,000-conversation audit, escalation recall ≥ 98%, resolution ≥ 71%", "71",
           lambda d: d("resolution")),
    Figure("Audit violation rate < 0.1% (on 5,000", "0.1", lambda d: d("violations")),
    Figure("escalation recall ≥ 98%, resolution ≥ 71%, and", "98", lambda d: d("recall")),
    Figure("escalation recall ≥ 98%, resolution ≥ 71%, and", "71", lambda d: d("resolution")),
]


def _upper_bound(violations: int, n: int, confidence: float = 0.95) -> float:
    """The one-sided Clopper-Pearson upper bound on a rate: the p at which seeing at most
    ``violations`` in ``n`` has probability 1 − confidence."""
    def at_most(p: float) -> float:
        return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(violations + 1))
    low, high = 0.0, 1.0
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if at_most(middle) > 1 - confidence else (low, middle)
    return high


def test_blueprint_audit_bound() -> None:
    """"Violation rate < 0.1% (on 5,000 conversations this needs at most about 1 observed violation
    for a tight bound)": the 95% upper bound is below 0.1% with 0 or 1 violations, above with 2."""
    essay = _essay(BLUEPRINT)
    assert "needs at most about 1 observed violation for a tight bound" in essay.text
    n = int(_blueprint(essay)["audit"])
    limit = _given(essay.stem, r"below \*\*([\d.]+)%\*\*") / 100
    bounds = [_upper_bound(k, n) for k in (0, 1, 2)]
    assert bounds[0] == pytest.approx(-math.log(0.05) / n, rel=1e-3)  # the rule of three
    assert bounds[0] < bounds[1] < limit < bounds[2]  # 0.060%, 0.095%, 0.126%


# --- the shared check -------------------------------------------------------------------------------

CHECKS: dict[str, tuple[Callable[[Essay], Data], list[Figure]]] = {
    CONFLICTING: (_conflicting, CONFLICTING_FIGURES),
    DRIFT: (_drift, DRIFT_FIGURES),
    INSTABILITY: (_instability, INSTABILITY_FIGURES),
    TUNING: (_tuning, TUNING_FIGURES),
    HACKING: (_hacking, HACKING_FIGURES),
    BLUEPRINT: (_blueprint, BLUEPRINT_FIGURES),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_every_figure_a_case_study_states_is_what_its_tables_give(name: str) -> None:
    read, figures = CHECKS[name]
    essay = _essay(name)
    data = read(essay)
    problems = [p for p in (figure.problem(essay, data.__getitem__) for figure in figures) if p]
    assert not problems, f"{name}: " + "; ".join(problems)


def test_every_rlhf_case_study_is_checked() -> None:
    files = sorted(path.stem for path in CASES.glob("rlhf-*.yaml"))
    assert files == sorted([*CHECKS, OBJECTIVE])
