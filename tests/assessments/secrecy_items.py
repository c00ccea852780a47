"""The answer-secrecy crawl's quiz: one item of every question type, each with all it can keep secret.

Every item carries what a review policy may withhold: computed parameters (so the key is its
student's own), misconception feedback, per-answer feedback and a worked solution. Feedback texts
are plain words (no Markdown, no LaTeX) so that a page shows them as they are written, and each is
worded so that it reads differently from every stem and option. The answers a student gives are
worked out here from the engine's own variant (server-side), for each kind of answer the crawl
needs: right, wrong (leading to a misconception where the type has one) and invalid.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from assessments.web.plots import ranking_pairs
from engine.attempts import QuestionAttempt as EngineAttempt
from engine.content.loader import load_item_text
from engine.items import EssayItem, ItemBase
from engine.qtypes.common import misconception_feedback, render_text
from engine.texts import render
from tests.assessments.secrecy_crawl import KeyNumber, Numbers, fold

SINGLE = """
id: secrecy-single
type: single_choice
title: Secrecy, single choice
stem: |
  A reward model scores a preferred response {{ r_c:.1f }} and a rejected one {{ r_r:.1f }}.
  What is the probability that a labeller prefers the first?
params:
  r_c: {uniform: [0.5, 3], step: 0.1}
  r_r: {uniform: [-2, 0.4], step: 0.1}
compute:
  p: bradley_terry_prob(r_c, r_r)
constraints:
  - abs(p - sigmoid(r_c)) >= 0.002
  - abs(p - (1 - p)) >= 0.002
options:
  - text: "{{ p:.3f }}"
    correct: true
    feedback: "Single feedback on the key: sigma of the margin {{ r_c - r_r:.1f }} is {{ p:.4f }}."
  - text: "{{ sigmoid(r_c):.3f }}"
    misconception: only-the-chosen-score
    feedback: "Single feedback on the chosen score: this forgets the rejected score."
  - text: "{{ 1 - p:.3f }}"
    misconception: swapped
    feedback: "Single feedback on the swap: this is the other response's chance."
misconceptions:
  only-the-chosen-score:
    says: Single misconception says it uses sigma of the chosen score alone
    feedback: "Single misconception feedback: both scores count, through their difference."
  swapped:
    says: Single misconception says it computes the rejected response's chance
    feedback: "Single misconception feedback: read which response is preferred."
solution: "Single worked solution: the probability is the sigmoid of the margin, here {{ p:.4f }}."
"""

MULTIPLE = """
id: secrecy-multiple
type: multiple_response
title: Secrecy, multiple response
stem: Which of these score pairs cost more than a tie under the ranking loss?
params:
  r_w: {uniform: [-3, 3], step: 0.1, size: 4}
  r_l: {uniform: [-3, 3], step: 0.1, size: 4}
constraints:
  - any(r_w <= r_l)
  - any(r_w > r_l)
  - all(abs(r_w - r_l) >= 0.2)
  - any((r_w <= 0) != (r_w <= r_l))
compute:
  loss: ranking_loss(r_w, r_l)
  tie: ranking_loss(0, 0)
options:
  for_each: i in 0..3
  text: "preferred {{ r_w[i]:.1f }}, rejected {{ r_l[i]:.1f }}"
  correct: loss[i] > tie
  feedback: "Multiple feedback for pair {{ i }}: its loss works out at {{ loss[i]:.5f }}."
misconceptions:
  absolute-scores:
    says: Multiple misconception says it judges by the sign of the preferred score
    selects: r_w[i] <= 0
    feedback: "Multiple misconception feedback: only the difference of the scores matters."
scoring: {method: partial, wrong_selection_penalty: true}
solution: "Multiple worked solution: a pair costs more than log 2 exactly when it is ranked the wrong way."
"""

TRUE_FALSE = """
id: secrecy-true-false
type: true_false
title: Secrecy, true or false
stem: "A pair scored r_w = {{ r_w }} and r_l = {{ r_l }}. True or false: it costs more than a tie."
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
constraints:
  - abs(r_w - r_l) >= 0.2
  - (r_w <= 0) != (r_w < r_l)
answer: ranking_loss(r_w, r_l) > log(2)
misconceptions:
  absolute-scores:
    says: True-false misconception says it goes by the sign of r_w
    answer: r_w <= 0
    feedback: "True-false misconception feedback: the sign of one score decides nothing."
feedback_true: "True-false feedback after answering true: the pair's loss is {{ ranking_loss(r_w, r_l):.5f }}."
feedback_false: "True-false feedback after answering false: the pair's loss is {{ ranking_loss(r_w, r_l):.5f }}."
solution: "True-false worked solution: compare the loss with log 2, which is about 0.69315."
"""

NUMERIC = """
id: secrecy-numeric
type: numeric
title: Secrecy, numeric
stem: "A pair scored r_w = {{ r_w }} and r_l = {{ r_l }}. What is its ranking loss?"
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
constraints: [abs(r_w - r_l) >= 0.3]
answer: ranking_loss(r_w, r_l)
tolerance: {sigfigs: 3}
unit: nats
misconceptions:
  forgot-the-log:
    says: Numeric misconception says it forgets the logarithm
    value: 1 - sigmoid(r_w - r_l)
    feedback: "Numeric misconception feedback: the loss takes the log of the probability."
  swapped:
    says: Numeric misconception says it subtracts the scores the wrong way round
    value: ranking_loss(r_l, r_w)
    feedback: "Numeric misconception feedback: the preferred score comes first."
solution: "Numeric worked solution: minus log sigma of the margin gives {{ ranking_loss(r_w, r_l):.6f }}."
"""

ORDERING = """
id: secrecy-ordering
type: ordering
title: Secrecy, ordering
stem: Put these margins in order of their ranking loss, lowest loss first.
params:
  d: {uniform: [-3, 3], step: 0.1, size: 4}
constraints:
  - min(abs(sort(d)[1:] - sort(d)[:3])) >= 0.2
  - any(argsort(-d) != argsort(d))
compute:
  loss: ranking_loss(d, 0)
options:
  for_each: i in 0..3
  text: "margin {{ d[i]:.1f }}"
  rank: loss[i]
misconceptions:
  backwards:
    says: Ordering misconception says it sorts by the margin ascending
    order_by: "d[i]"
    feedback: "Ordering misconception feedback: a larger margin means a smaller loss."
scoring: {method: absolute_position}
solution: "Ordering worked solution: the loss falls as the margin grows, so the largest margin comes first."
"""

MATCHING = """
id: secrecy-matching
type: matching
title: Secrecy, matching
stem: |
  For one token, log pi(y) = {{ lp:.2f }} and log pi_ref(y) = {{ lr:.2f }}.
  Match each estimator of the KL divergence to its value.
params:
  lp: {uniform: [-3, -0.5], step: 0.01}
  lr: {uniform: [-3, -0.5], step: 0.01}
compute:
  k1: kl_estimator(lp, lr, kind="k1")
  k2: kl_estimator(lp, lr, kind="k2")
  k3: kl_estimator(lp, lr, kind="k3")
constraints:
  - abs(lp - lr) >= 0.3
  - min(abs([k1 - k2, k1 - k3, k2 - k3, k2 - (lr - lp), k3 - (lr - lp)])) >= 0.001
pairs:
  - {prompt: "the k1 estimator", answer: "{{ k1:.4f }}"}
  - {prompt: "the k2 estimator", answer: "{{ k2:.4f }}"}
  - {prompt: "the k3 estimator", answer: "{{ k3:.4f }}"}
distractors:
  - text: "{{ lr - lp:.4f }}"
    misconception: log-ratio-flipped
misconceptions:
  log-ratio-flipped:
    says: Matching misconception says it takes the log ratio the wrong way round
    feedback: "Matching misconception feedback: log r is the reference minus the policy."
solution: "Matching worked solution: k1 is {{ k1:.5f }}, k2 is {{ k2:.5f }} and k3 is {{ k3:.5f }}."
"""

SHORT = """
id: secrecy-short
type: short_text
title: Secrecy, short text
stem: The pairwise reward-model loss is the negative log-likelihood under which preference model?
answers:
  - match: "Bradley*Terry*"
    feedback: "Short-text feedback on the accepted answer: that is the pairwise preference model."
  - match: "*Plackett*Luce*"
    fraction: 0.5
    feedback: "Short-text feedback on the half answer: it generalises the pairwise model."
  - match: "*softmax*"
    misconception: softmax-not-a-model
misconceptions:
  softmax-not-a-model:
    says: Short-text misconception says it names the function, not the model
    feedback: "Short-text misconception feedback: name the model the function comes from."
solution: "Short-text worked solution: the sigmoid of the margin is the pairwise preference model's likelihood."
"""

ESSAY = """
id: secrecy-essay
type: essay
title: Secrecy, essay
stem: Explain how a policy can reward-hack a learned reward model, and name one safeguard.
rubric:
  criteria:
    - id: mechanism
      title: Mechanism
      levels: [{points: 0, label: Missing}, {points: 2, label: Partial}, {points: 4, label: Full}]
    - id: safeguard
      title: Safeguard
      levels: [{points: 0, label: Missing}, {points: 1, label: Named}]
response: {min_words: 3, max_words: 40}
solution: "Essay worked solution: the reward model is a proxy, and a KL penalty keeps the policy near it."
"""

ITEMS = [SINGLE, MULTIPLE, TRUE_FALSE, NUMERIC, ORDERING, MATCHING, SHORT, ESSAY]
"""In slot order: slot n holds ``ITEMS[n - 1]``."""
SLOT_MARKS = [1.13, 1.27, 1.41, 1.59, 1.73, 1.87, 2.09, 2.31]
"""Each slot's marks: uneven, so that totals and part marks read like nothing else on a page."""
ESSAY_COMMENT = "Essay grader comment: the mechanism is named, the safeguard is missing."
ESSAY_TEXT = "The policy finds outputs the reward model overrates and exploits them."
SHORT_RIGHT = "Bradley and Terry's model"
"""Matches ``Bradley*Terry*`` but reads differently from the key the engine would show."""


def definitions() -> list[tuple[dict[str, Any], ItemBase]]:
    """Each item as the bank stores it: its YAML data and its model."""
    import yaml

    return [(yaml.safe_load(textwrap.dedent(body)), load_item_text(textwrap.dedent(body))) for body in ITEMS]


# --- answers, worked out from the engine's variant --------------------------------------------------


def _positions(qa: EngineAttempt, authored: list[int]) -> list[int]:
    """Display positions of authored options."""
    order = list(qa.variant.order if qa.variant.order is not None else [])
    return [order.index(k) for k in authored]


def right_response(qa: EngineAttempt) -> dict[str, Any]:
    """A response that earns full marks, typed the way a student would (never the engine's key text)."""
    kind = qa.item.type_name
    if kind == "numeric":
        # Right, in a form that holds no printing of the key ("31.44093e-1", never "3.144").
        return {"answer": f"{float(qa.variant.key['answer'][0]) * 10:.9f}e-1"}
    if kind == "short_text":
        return {"answer": SHORT_RIGHT}
    if kind == "essay":
        return {"text": ESSAY_TEXT}
    return dict(qa.qtype.correct_response(qa.item, qa.variant))


def wrong_response(qa: EngineAttempt) -> dict[str, Any]:
    """A wrong response, the one a misconception leads to where the type has one."""
    kind, key, item = qa.item.type_name, qa.variant.key, qa.item
    if kind == "single_choice":
        wrong = [k for k, m in enumerate(key["misconceptions"][0].any(axis=0)) if m and not key["correct"][0, k]]
        return {"choice": _positions(qa, wrong[:1])[0]}
    if kind == "multiple_response":
        selected = key["misconceptions"][0, 0]
        if not selected.any() or (selected == key["correct"][0]).all():  # the misconception picks nothing here
            selected = ~key["correct"][0]
        return {"choices": sorted(_positions(qa, [int(k) for k in np.flatnonzero(selected)]))}
    if kind == "true_false":
        return {"answer": not bool(key["answer"][0])}
    if kind == "numeric":
        return {"answer": f"{float(key['misconception_values'][0, 1]):.6g}"}
    if kind == "ordering":
        return {"order": _positions(qa, [int(k) for k in key["misconception_sequences"][0, 0]])}
    if kind == "matching":
        right = list(qa.qtype.correct_response(item, qa.variant)["matches"])
        right[0] = _positions(qa, [len(getattr(item, "pairs", ()))])[0]  # the distractor of a misconception
        return {"matches": right}
    if kind == "short_text":
        return {"answer": "the softmax"}
    return {"text": "Reward hacking happens when a policy games the reward."}


def invalid_response(qa: EngineAttempt) -> dict[str, Any]:
    """A response that cannot be graded as it stands (a format error)."""
    if isinstance(qa.item, EssayItem):
        return {"text": "word " * (qa.item.response.max_words + 1)}
    if qa.item.type_name == "short_text":
        return {"answer": "x" * 501}
    invalid = next(c for c in qa.qtype.self_test_cases(qa.item, qa.variant) if c.expect == "invalid")
    return dict(invalid.response)


# --- what each question keeps secret ---------------------------------------------------------------------

FIELDS = ("correctness", "marks", "feedback", "right_answer")
"""The review policy's switches."""


@dataclass
class QuestionSecrets:
    """What one question's variant must not show before the policy allows, worked out by the engine.

    ``feedback`` is every text the engine could give this variant as feedback (each option's, each
    misconception's and what it says, true/false and short-text answer feedback, the worked
    solution, the grader's comment), not only the one this student earned: a text the student did
    not earn must never appear. ``key_texts`` are the key in the texts the type prints it (the
    short-text answer the engine would show, and its pattern); ``key_numbers`` are numbers that
    give the key away, found as numbers (:class:`~tests.assessments.secrecy_crawl.Numbers`), not
    as text: the numeric key at the
    precision it is printed with, and each ranking-loss pair's loss as the review's plot prints it
    (whether a pair costs more than a tie is a "which pairs" item's key; their mean is a numeric
    item's). ``key_order`` finds the right order of an ordering item's options written out in
    sequence. Choice, true/false and matching keys have no text of their own (their option ids
    and texts are on the question): their secret is the *marking*, so it is looked for as
    ``correct`` held under any name but the student's own ``response``, and as the pages' key
    markers.
    """

    slot: int
    kind: str
    correct: dict[str, Any] | None
    feedback: set[str] = field(default_factory=set)
    key_texts: set[str] = field(default_factory=set)
    key_numbers: list[KeyNumber] = field(default_factory=list)
    key_order: re.Pattern[str] | None = None

    def drop_public(self, public: str) -> None:
        """Forget the secrets the student is shown anyway (the question itself, what they typed):
        a number in a stem is no leak, and an assertion on it would mean nothing."""
        self.feedback = {t for t in self.feedback if t not in public}
        self.key_texts = {t for t in self.key_texts if t not in public}
        numbers = Numbers.of(public)
        self.key_numbers = [n for n in self.key_numbers if not numbers.hold(n)]
        if self.key_order is not None and self.key_order.search(public):
            self.key_order = None


def potential_feedback(qa: EngineAttempt) -> set[str]:
    """Every feedback text the engine could give this variant."""
    item, variant = qa.item, qa.variant
    texts = set()
    options = getattr(item, "options", None)
    if options is not None and qa.item.type_name in ("single_choice", "multiple_response"):
        texts |= {render_text(o.feedback, variant, binding) for o, binding, _ in options.expand() if o.feedback}
    for name in item.misconceptions:
        texts |= set(misconception_feedback(item, name, variant))
    for attribute in ("feedback_true", "feedback_false"):
        if getattr(item, attribute, None):
            texts.add(render_text(getattr(item, attribute), variant))
    for answer in getattr(item, "answers", ()):
        if answer.feedback:
            texts.add(render_text(answer.feedback, variant))
    if item.solution:
        texts.add(render(item.solution, variant.values))
    if item.type_name == "essay":
        texts.add(ESSAY_COMMENT)
    return {fold(t) for t in texts}


def _order_pattern(texts: list[str]) -> re.Pattern[str]:
    """The texts one after another, with at most an arrow, a comparison or a comma between them."""
    between = r"\s*(?:→|<|>|,|;|\|)?\s*"
    return re.compile(between.join(re.escape(fold(t)) for t in texts))


def secrets_of(slot: int, qa: EngineAttempt) -> QuestionSecrets:
    item, variant, qtype = qa.item, qa.variant, qa.qtype
    kind = item.type_name
    correct = None if kind == "essay" else dict(qtype.shown_response(item, variant))
    found = QuestionSecrets(slot, kind, correct, potential_feedback(qa))
    found.key_numbers = [KeyNumber(pair.loss, 3) for pair in ranking_pairs(variant) or ()]
    if kind == "numeric":
        key = float(variant.key["answer"][0])
        found.key_numbers.append(KeyNumber.printed(
            key, f"{key:#.3g}", f"{key:.3f}", f"{key:.4f}", f"{key:.6g}", str(correct and correct["answer"])))
    elif kind == "short_text":
        accepted = {a.match for a in getattr(item, "answers", ()) if a.fraction == 1}
        found.key_texts = {str(correct and correct["answer"])} | accepted
    elif kind == "ordering":
        options = qtype.render(item, variant)["options"]
        assert correct is not None
        found.key_order = _order_pattern([options[p]["text"] for p in correct["order"]])
    return found
