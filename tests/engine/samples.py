"""Small items for engine tests, written as authors write them."""

from __future__ import annotations

import textwrap

from engine.content.loader import load_item_text
from engine.items import ItemBase


def item(yaml_text: str) -> ItemBase:
    return load_item_text(textwrap.dedent(yaml_text), "test-item.yaml")


SEED = """
id: seed
type: multiple_response
title: Which pairs are penalised
stem: Which pairs cost more than a tie?
params:
  r_w: {uniform: [-3, 3], step: 0.1, size: 4}
  r_l: {uniform: [-3, 3], step: 0.1, size: 4}
constraints:
  - any(r_w <= r_l)
  - any(r_w > r_l)
  - all(abs(r_w - r_l) >= 0.2)
  - any((r_w <= 0) != (r_w <= r_l))
  - min(abs(sort(100 * r_w + r_l)[1:] - sort(100 * r_w + r_l)[:3])) > 0.05  # no two pairs alike
compute:
  loss: ranking_loss(r_w, r_l)
  tie: ranking_loss(0, 0)
options:
  for_each: i in 0..3
  text: "preferred {{ r_w[i]:.1f }}, rejected {{ r_l[i]:.1f }}"
  correct: loss[i] > tie
  feedback: "loss {{ loss[i]:.3f }}"
misconceptions:
  absolute-scores:
    says: judges by the sign of the preferred score
    selects: r_w[i] <= 0
scoring: {method: partial, wrong_selection_penalty: true}
"""

NUMERIC = """
id: numeric
type: numeric
title: Ranking loss of one pair
stem: "r_w = {{ r_w }}, r_l = {{ r_l }}: the loss?"
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
constraints: [abs(r_w - r_l) >= 0.3]
answer: ranking_loss(r_w, r_l)
tolerance: {sigfigs: 3}
misconceptions:
  forgot-the-log: 1 - sigmoid(r_w - r_l)
  swapped: ranking_loss(r_l, r_w)
"""

SINGLE = """
id: single
type: single_choice
title: Which model has the lower loss
stem: "A: {{ a_w }}/{{ a_l }}; B: {{ b_w }}/{{ b_l }}"
params:
  a_w: {uniform: [0, 3], step: 0.1}
  a_l: {uniform: [-3, 0], step: 0.1}
  b_w: {uniform: [0, 3], step: 0.1}
  b_l: {uniform: [-3, 0], step: 0.1}
compute:
  la: ranking_loss(a_w, a_l)
  lb: ranking_loss(b_w, b_l)
constraints: [abs(la - lb) > 0.01]
options:
  - text: Model A
    correct: la < lb
  - text: Model B
    correct: lb < la
  - text: They tie
    correct: "false"
    misconception: order-only
misconceptions:
  order-only: {says: only the order of the scores matters}
scoring: {negative: 0.5}
"""

TRUE_FALSE = """
id: tf
type: true_false
title: More than a tie
stem: "r_w = {{ r_w }}, r_l = {{ r_l }}: costs more than a tie?"
params:
  r_w: {uniform: [-2, 2], step: 0.1}
  r_l: {uniform: [-2, 2], step: 0.1}
constraints:
  - abs(r_w - r_l) >= 0.2
  - (r_w <= 0) != (r_w < r_l)
answer: ranking_loss(r_w, r_l) > log(2)
misconceptions:
  absolute-scores: {says: sign of r_w, answer: r_w <= 0}
"""

ORDERING = """
id: ordering
type: ordering
title: Order by loss
stem: Lowest loss first.
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
  backwards: {says: sorts by the margin ascending, order_by: "d[i]"}
scoring: {method: absolute_position}
"""

MATCHING = """
id: matching
type: matching
title: Match
stem: Match each function to its value at 0.
pairs:
  - {prompt: sigmoid, answer: "{{ sigmoid(0) }}"}
  - {prompt: softplus, answer: "{{ softplus(0):.4f }}"}
  - {prompt: log_sigmoid, answer: "{{ log_sigmoid(0):.4f }}"}
distractors:
  - "1"
  - text: "{{ sigmoid(0) ** 2:.4f }}"
    misconception: squares-not-logs
misconceptions:
  squares-not-logs: {says: squares σ where the log belongs}
"""

SHORT = """
id: short
type: short_text
title: Name it
stem: Which preference model?
answers:
  - match: "Bradley*Terry"
  - match: "*Luce*"
    fraction: 0.5
  - match: softmax
    misconception: function-not-model
misconceptions:
  function-not-model: {says: names a function}
"""

ESSAY = """
id: essay
type: essay
title: Explain
stem: Explain reward hacking.
rubric:
  criteria:
    - id: mechanism
      title: Mechanism
      levels: [{points: 0, label: Missing}, {points: 2, label: Partial}, {points: 4, label: Full}]
    - id: safeguard
      title: Safeguard
      levels: [{points: 0, label: Missing}, {points: 1, label: Named}]
response: {min_words: 3, max_words: 50}
"""
