"""Every class of authoring error the checker must catch: one broken item each, as an author
would write it, reported with its message at the line of the field at fault.

Each item is otherwise sound (``GOOD`` and its kin pass the checker, below), so each case
fails for the one error it was written with.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from engine.content.checker import check

BANK = """\
facets:
  chapter: [Ch.4 Alignment]
  bloom: [Apply, Analysis]
concepts:
  ranking-loss-intuition: Intuition of the ranking loss
"""

GOOD = """\
id: good
type: numeric
title: Ranking loss
tags: {chapter: Ch.4 Alignment}
concepts: [ranking-loss-intuition]
stem: |
  A reward model scores the preferred response {{ r_w }} and the other {{ r_l }}.
  What is the ranking loss? Give three significant figures.
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
constraints: [abs(r_w - r_l) >= 0.3]
answer: ranking_loss(r_w, r_l)
tolerance: {sigfigs: 3}
unit: nats
misconceptions:
  swapped:
    says: swaps the two scores
    value: ranking_loss(r_l, r_w)
    feedback: "That is −log σ({{ r_l }} − ({{ r_w }})) = {{ ranking_loss(r_l, r_w):.3f }}: the scores swapped."
solution: "$-\\\\log\\\\sigma({{ r_w - r_l:.1f }}) = {{ ranking_loss(r_w, r_l):.4f }}$"
"""

CHOICE = """\
id: choice
type: single_choice
title: Bradley-Terry probability
tags: {chapter: Ch.4 Alignment}
stem: "Scores {{ r_c:.1f }} and {{ r_r:.1f }}: what is the probability that the first is preferred?"
params:
  r_c: {uniform: [0.5, 3], step: 0.1}
  r_r: {uniform: [-2, 0.4], step: 0.1}
compute:
  p: bradley_terry_prob(r_c, r_r)
constraints:
  - abs(p - sigmoid(r_c)) >= 0.002
  - abs(p - 0.5) >= 0.002
options:
  - text: "{{ p:.3f }}"
    correct: true
  - text: "{{ sigmoid(r_c):.3f }}"
    misconception: only-the-chosen-score
  - text: "{{ 1 - p:.3f }}"
    misconception: swapped
misconceptions:
  only-the-chosen-score: {says: uses σ(r_c) and ignores the rejected score}
  swapped: {says: computes the probability of preferring the rejected response}
"""

ORDERING = """\
id: ordering
type: ordering
title: Order pairs by loss
tags: {chapter: Ch.4 Alignment, bloom: Apply}
stem: Order these score pairs from the lowest ranking loss to the highest.
params:
  r_w: {uniform: [-3, 3], step: 0.1, size: 4}
  r_l: {uniform: [-3, 3], step: 0.1, size: 4}
constraints:
  - min(abs(sort(r_w - r_l)[1:] - sort(r_w - r_l)[:3])) >= 0.2
  - min(abs(sort(r_w)[1:] - sort(r_w)[:3])) >= 0.1
  - any(argsort(r_l - r_w) != argsort(-r_w))
compute:
  loss: ranking_loss(r_w, r_l)
options:
  for_each: i in 0..3
  text: "r_w = {{ r_w[i]:.1f }}, r_l = {{ r_l[i]:.1f }}"
  rank: loss[i]
misconceptions:
  preferred-score-only:
    says: orders by the preferred score alone
    order_by: -r_w[i]
"""


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# name: (file text, line of the field at fault, message pattern); checked with --strict, as the
# shipped bank is (a guessable key or a misconception without feedback is a warning otherwise)
CASES: dict[str, tuple[str, int, str]] = {
    # --- values, not texts ---------------------------------------------------------------------
    "same-value-other-format": (
        _replace(CHOICE, '- text: "{{ 1 - p:.3f }}"', '- text: "{{ p }}"'), 19,
        r"two options show the same value in another format .*'0\.\d+' and '0\.\d+"),
    "percent-equals-the-key": (
        _replace(CHOICE, '- text: "{{ 1 - p:.3f }}"', '- text: "{{ p:.1%}}"'), 19,
        r"two options show the same value in another format"),
    # --- every variant, in chunks ------------------------------------------------------------------
    "rare-duplicate-after-seed-200": ("""\
id: rare-duplicate-after-seed-200
type: multiple_response
title: Higher first scores
tags: {chapter: Ch.4 Alignment}
stem: In which pairs is the first score higher?
params:
  w: {integers: [0, 14], size: 3}
  l: {integers: [0, 14], size: 3}
constraints: [any(w > l), any(w <= l)]
options:
  for_each: i in 0..2
  text: "first {{ w[i] }}, second {{ l[i] }}"
  correct: w[i] > l[i]
""", 12, r"two options read the same \(in 16 of 2000 variants; first seeds 292, 334, 549"),
    # --- templates never rendered before ---------------------------------------------------------
    "solution-cannot-render": (
        _replace(GOOD, "{{ ranking_loss(r_w, r_l):.4f }}$", "{{ ranking_loss(r_w):.4f }}$"), 21,
        r"cannot render the solution: ranking_loss\(\): missing a required argument"),
    "feedback-prints-nan": (
        _replace(GOOD, "{{ ranking_loss(r_l, r_w):.3f }}", "{{ log(r_l - 2):.3f }}"), 20,
        r"misconception 'swapped''s feedback prints nan for \{\{ log\(r_l - 2\) \}\}"),
    "option-feedback-out-of-range": (
        _replace(ORDERING, "  rank: loss[i]\n", '  rank: loss[i]\n  feedback: "{{ loss[i + 1]:.3f }}"\n'),
        19, r"cannot render option 4's feedback: index out of range"),
    # --- precision: the answers a student types ---------------------------------------------------
    "zero-tolerance": (_replace(GOOD, "tolerance: {sigfigs: 3}", "tolerance: {absolute: 0}"), 14,
                       r"a tolerance of 0 accepts only the key's every digit"),
    "tolerance-looser-than-the-digits-asked": (
        _replace(GOOD, "tolerance: {sigfigs: 3}", "tolerance: {relative: 0.01}\nprecision: {sigfigs: 3}"),
        14, r"a response one unit (above|below) in the 3rd significant figure earns full marks"),
    "tolerance-tighter-than-the-digits-asked": (
        _replace(GOOD, "tolerance: {sigfigs: 3}", "tolerance: {absolute: 0.00001}\nprecision: {sigfigs: 3}"),
        14, r"the key rounded to 3 significant figures \(from declared\) does not earn full marks"),
    "stem-asks-other-digits": (_replace(GOOD, "three significant figures", "two decimal places"), 14,
                               r"the stem asks for 'two decimal places', but the precision checked is 3 significant"),
    "misconception-inside-a-wide-tolerance": (
        _replace(GOOD, "value: ranking_loss(r_l, r_w)", "value: ranking_loss(r_w, r_l) * 1.0015"),
        14, r"the tolerance lets in misconception 'swapped'"),
    # --- ordering ties ---------------------------------------------------------------------------
    "ranks-tie-by-float-noise": ("""\
id: ranks-tie-by-float-noise
type: ordering
title: Order the sums
tags: {chapter: Ch.4 Alignment}
stem: Order the sums from the smallest to the largest.
params:
  a: {uniform: [1, 2], step: 0.1}
options:
  - text: "{{ a:.1f }} + 0.1 + 0.2"
    rank: a + 0.1 + 0.2
  - text: "{{ a:.1f }} + 0.3"
    rank: a + 0.3
  - text: "{{ a:.1f }} + 1"
    rank: a + 1
misconceptions:
  last-term:
    says: orders by the last term
    order_by: "[0.2, 0.3, 1][i] * -1"
""", 12, r"two options tie on their rank .*options 1 and 2"),
    "ranks-tie-as-shown": (
        _replace(_replace(ORDERING, 'text: "r_w = {{ r_w[i]:.1f }}, r_l = {{ r_l[i]:.1f }}"',
                          'text: "a loss of {{ loss[i]:.1f }}"'),
                 "  - min(abs(sort(r_w - r_l)[1:] - sort(r_w - r_l)[:3])) >= 0.2\n",
                 "  - min(abs(sort(r_w - r_l)[1:] - sort(r_w - r_l)[:3])) >= 0.01\n"),
        18, r"two options tie on their rank \(within a relative 1e-9, or as the options show them\)"),
    "misconception-order-ties": (
        _replace(ORDERING, "order_by: -r_w[i]", "order_by: -round(r_w[i])"), 22,
        r"misconception 'preferred-score-only' ties two options"),
    # --- structure YAML accepts but the author did not mean ------------------------------------------
    "rank-indented-into-the-text": ("""\
id: rank-indented-into-the-text
type: ordering
title: The RLHF pipeline
tags: {chapter: Ch.4 Alignment}
stem: Put the stages of RLHF in order.
options:
  - text: >-
      Supervised fine-tuning
      rank: 1
  - text: >-
      Train a reward model on comparisons
      rank: 2
  - text: >-
      Optimise the policy with PPO
      rank: 3
""", 9, r"the text contains 'rank:', a field name and a colon"),
    "ordering-without-ranks": ("""\
id: ordering-without-ranks
type: ordering
title: The RLHF pipeline
tags: {chapter: Ch.4 Alignment}
stem: Put the stages of RLHF in order.
options:
  - text: Supervised fine-tuning
  - text: Train a reward model on comparisons
  - text: Optimise the policy with PPO
""", 6, r"an ordering item needs a rank on every option"),
    "unknown-key-in-an-option": (_replace(CHOICE, "    correct: true\n", "    correct: true\n    feedbak: right\n"),
                                 17, r"unknown field 'feedbak' \(did you mean 'feedback'\?\)"),
    "unknown-key-in-a-misconception": (_replace(GOOD, "    says: swaps the two scores\n",
                                                "    says: swaps the two scores\n    valeu: 1\n"),
                                       19, r"unknown field 'valeu' \(did you mean 'value'\?\)"),
    # --- LaTeX -----------------------------------------------------------------------------------
    "latex-unbalanced-brace": (
        _replace(GOOD, "What is the ranking loss?", "What is $\\mathcal{L} = \\frac{1}{1 + e^{r_l - r_w}$?"),
        8, r"the formula \$.*\$ has a '\{' that is never closed"),
    "latex-unknown-command": (
        _replace(GOOD, "What is the ranking loss?", "What is $\\loss(r_w, r_l)$?"), 8,
        r"uses \\loss, a LaTeX command the pages cannot show"),
    "latex-unclosed-dollar": (
        _replace(GOOD, "What is the ranking loss?", "What is $-\\log\\sigma(r_w - r_l) now?"), 8,
        r"a \$ that opens a formula that is never closed"),
    # --- matching prompts --------------------------------------------------------------------------
    "matching-duplicate-prompts": ("""\
id: matching-duplicate-prompts
type: matching
title: Estimators
tags: {chapter: Ch.4 Alignment}
stem: Match each estimator to its formula.
pairs:
  - prompt: k1
    answer: −log r
  - prompt: k2
    answer: ½ (log r)²
  - prompt: k1
    answer: (r − 1) − log r
""", 11, r"two prompts read the same"),
    # --- domains and units -------------------------------------------------------------------------
    "log-probability-above-zero": (
        _replace(_replace(GOOD, "r_w: {uniform: [-2, 2], step: 0.1}", "r_w: {uniform: [-2, 0.5], step: 0.1}"),
                 "answer: ranking_loss(r_w, r_l)", "answer: kl_estimator(r_w, r_l - 3)"), 13,
        r"kl_estimator\(\) takes logp_policy as a log-probability \(≤ 0\), but 'r_w' is outside it"),
    "unit-is-not-the-keys": (_replace(GOOD, "unit: nats", "unit: bits"), 15,
                             r"the unit is 'bits', but the key is ranking_loss\(\)'s result, in nats"),
    # --- misconceptions and options that say what they mean ------------------------------------------
    "misconception-without-feedback": (
        _replace(GOOD, '    feedback: "That is −log σ({{ r_l }} − ({{ r_w }})) = '
                 '{{ ranking_loss(r_l, r_w):.3f }}: the scores swapped."\n', ""),
        17, r"misconception 'swapped' has no feedback"),
    "wrong-option-with-a-true-conclusion": ("""\
id: wrong-option-with-a-true-conclusion
type: single_choice
title: Which model is better?
tags: {chapter: Ch.4 Alignment}
stem: "Model A's loss is {{ a:.2f }} nats; model B's perplexity is {{ pb:.1f }}. Which conclusion is correct?"
params:
  a: {uniform: [1.8, 3.2], step: 0.01}
  pb: {uniform: [6, 25], step: 0.1}
constraints: [abs(exp(a) - pb) >= 0.5]
options:
  - text: "Model A is better: its perplexity is {{ exp(a):.1f }}."
    correct: exp(a) < pb
  - text: "Model B is better: its loss is {{ log(pb):.2f }}."
    correct: pb < exp(a)
  - text: "Model A is better, because {{ a:.2f }} is smaller than {{ pb:.1f }}."
    correct: false
""", 15, r"option 3 draws the conclusion of option 1 \('model a is better'\)"),
    "declared-conclusion-holds": ("""\
id: declared-conclusion-holds
type: single_choice
title: Which model is penalised more?
tags: {chapter: Ch.4 Alignment}
stem: "Model A scores the pair {{ a_w }} and {{ a_l }}; model B scores it {{ b_w }} and {{ b_l }}."
params:
  a_w: {value: 3.2}
  a_l: {value: 1.5}
  b_w: {value: -0.5}
  b_l: {value: -2.0}
options:
  - text: Model B pays the larger loss; its score gap is the smaller.
    correct: b_w - b_l < a_w - a_l
  - text: Model B is penalised more because both of its scores are negative.
    correct: false
    conclusion: ranking_loss(b_w, b_l) > ranking_loss(a_w, a_l)
""", 16, r"option 2 is marked wrong but its conclusion holds"),
    "misconception-selects-nothing": (
        _replace("""\
id: misconception-selects-nothing
type: multiple_response
title: Which pairs cost more than a tie?
tags: {chapter: Ch.4 Alignment}
stem: Which pairs cost more than a tie?
params:
  r_w: {uniform: [-3, 3], step: 0.1, size: 3}
  r_l: {uniform: [-3, 3], step: 0.1, size: 3}
constraints: [any(r_w <= r_l), any(r_w > r_l), all(abs(r_w - r_l) >= 0.2)]
options:
  for_each: i in 0..2
  text: "{{ r_w[i]:.1f }} and {{ r_l[i]:.1f }}"
  correct: r_w[i] < r_l[i]
misconceptions:
  no-push:
    says: thinks no pair costs more than a tie
    selects: XX
""", "XX", "r_w[i] > 5"), 17, r"misconception 'no-push' selects no option in any variant"),
    # --- the bank's declarations ---------------------------------------------------------------------
    "did-you-mean-a-name-in-the-stem": (_replace(GOOD, "the other {{ r_l }}", "the other {{ r_ll }}"), 7,
                                        r"the stem names 'r_ll' .* \(did you mean 'r_l'\?\)"),
    "did-you-mean-a-tag-value": (
        _replace(GOOD, "{chapter: Ch.4 Alignment}", "{chapter: Ch.4 Alignmnet}"), 4,
        r"'Ch.4 Alignmnet' is not declared .*\(did you mean 'Ch.4 Alignment'\?\) \(declared: .*\)"),
}

# the file of each case is named after its id, except where the case is the file name
for _name, (_text, _line, _message) in list(CASES.items()):
    CASES[_name] = (re.sub(r"^id: .*$", f"id: {_name}", _text, count=1, flags=re.MULTILINE), _line, _message)


def bank(tmp_path: Path, **files: str) -> Path:
    (tmp_path / "bank.yaml").write_text(BANK)
    for name, text in files.items():
        (tmp_path / f"{name}.yaml").write_text(textwrap.dedent(text))
    return tmp_path


@pytest.mark.parametrize("text", [GOOD, CHOICE, ORDERING], ids=["numeric", "choice", "ordering"])
def test_the_sound_items_check_clean(tmp_path: Path, text: str) -> None:
    name = re.search(r"^id: (\S+)", text, re.MULTILINE).group(1)  # type: ignore[union-attr]
    report = check(bank(tmp_path, **{name: text}), strict=True)
    assert report.ok, [str(p) for p in report.problems]


@pytest.mark.parametrize(("name", "case"), CASES.items(), ids=CASES.keys())
def test_each_authoring_error_is_caught_at_its_line(tmp_path: Path, name: str,
                                                    case: tuple[str, int, str]) -> None:
    text, line, message = case
    found = [str(p) for p in check(bank(tmp_path, **{name: text}), strict=True).problems]
    assert found, f"{name} passed the checker"
    pattern = re.compile(rf"^{re.escape(name)}\.yaml:{line}: .*{message}")
    assert any(pattern.search(p) for p in found), found
