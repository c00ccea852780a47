"""Author text to HTML: math read in the Markdown pass (linear, no placeholder), formulas that
wrap onto lines Markdown would read as blocks, escaped dollars, bounds on what one text may cost,
and the pages that show author and grader text."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from assessments import rendering
from assessments.bank.service import save_definition
from assessments.models import CourseRole, Role
from assessments.rendering import MAX_FORMULAS, MAX_TEXT_CHARS, plain_text, render_inline, render_markdown
from tests.assessments.conftest import PASSWORD, World

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
MATHML = 'xmlns="http://www.w3.org/1998/Math/MathML"'


def _inline(latex: str) -> str:
    return f'<math alttext="{latex}" {MATHML} display="inline">'


def test_dollars_are_read_as_before() -> None:
    assert str(render_inline("$x$ and $$y$$")).startswith(_inline("x"))
    assert f'<math alttext="y" {MATHML} display="block">' in str(render_inline("$x$ and $$y$$"))
    assert str(render_inline(r"costs \$5, not $x$")).startswith("costs $5, not " + _inline("x"))
    for text in ("$5 and $10", "it costs $5", "$ x$ and $x $", "a $ b", "$a", "$$a", "$$"):
        assert str(render_inline(text)) == text, text  # no formula: a space inside, or no closing $
    # display math in a paragraph stays in it
    assert str(render_markdown("Text\n$$a = b$$\nmore")).startswith('<p>Text\n<math alttext="a = b"')


def test_code_spans_and_blank_lines_hold_no_math() -> None:
    """Formulas were taken out before Markdown read the text: `$x$` became MathML inside code,
    and an unclosed $ could pair with one paragraphs later."""
    assert str(render_inline("`$x$` is code")) == "<code>$x$</code> is code"
    assert str(render_markdown("$a\n\nb$")) == "<p>$a</p>\n<p>b$</p>\n"


def test_a_formula_wrapped_onto_a_line_that_looks_like_a_list_stays_one_formula() -> None:
    """Shipped: sequence-log-likelihood's solution wraps its sum at ``+ (...)``."""
    text = "$\\log p = -0.105 + (-0.673)\n+ (-0.511) = -1.289$, so\n- a list, the formula closed"
    html = str(render_markdown(text))
    assert html.startswith('<p><math alttext="\\log p = -0.105 + (-0.673)\n+ (-0.511) = -1.289"')
    assert html.endswith("</math>, so</p>\n<ul>\n<li>a list, the formula closed</li>\n</ul>\n")
    for text in ("$$a\n- b\n# c\n> d$$", "1. $a\n2. b$"):
        assert str(render_markdown(text)).count("<math ") == 1, text
    # a $ that never closes leaves Markdown alone: currency, then a list
    assert str(render_markdown("costs $5\n- item $x$")) == (
        f"<p>costs $5</p>\n<ul>\n<li>item {_inline('x')}<mrow><mi>x</mi></mrow></math></li>\n</ul>\n")


@pytest.mark.parametrize("where", ["stem", "option", "comment"])
def test_a_placeholder_lookalike_is_text(where: str) -> None:
    text = {"stem": "Read ASSAYMATH0ASSAYMATH and $x$.", "option": "ASSAYMATH0ASSAYMATH",
            "comment": "See ASSAYMATH1ASSAYMATH"}[where]
    html = str(render_markdown(text) if where == "stem" else render_inline(text))
    assert html.count("ASSAYMATH") == 2
    assert html.count("<math ") == (1 if where == "stem" else 0)


def test_escaped_dollars_are_dollars_in_aria_labels_too() -> None:
    assert plain_text(r"costs \$5 with $\sigma(x)$ and **bold** \{x\}") == "costs $5 with sigma(x) and bold x"
    assert plain_text("$r_w - r_l$") == "rw - rl"  # as before: markup characters dropped
    assert plain_text("ends with \\") == "ends with"


def test_text_past_the_bound_is_escaped_unparsed() -> None:
    huge = "$a$ <b>" * (MAX_TEXT_CHARS // 7 + 1)
    html = str(render_markdown(huge))
    assert "<math" not in html and "<b>" not in html
    assert html == f"<p>{huge.replace('<', '&lt;').replace('>', '&gt;')}</p>\n"
    started = time.process_time()
    assert str(render_markdown("$a " * 20_000)).startswith("<p>$a $a ")
    assert time.process_time() - started < 1  # unparsed: a copy and an escape


def test_formulas_past_the_bound_show_their_source() -> None:
    html = str(render_markdown("$a$ " * (MAX_FORMULAS + 2)))
    assert html.count("<math ") == MAX_FORMULAS
    assert html.count('<code class="latex">a</code>') == 2


PATHOLOGICAL: dict[str, Callable[[int], str]] = {
    "dollar and space": lambda n: "$a " * n,           # the red team's shape: quadratic before
    "dollar pairs": lambda n: "$$" * n,
    "display openings": lambda n: "$$a " * n,
    "backslashes": lambda n: "\\" * n + "$" * n,
    "escaped dollars": lambda n: "$a" + "\\$" * n,
    "a formula over many list lines": lambda n: "$a\n" + "- b\n" * n + "c$",
    "list lines each opening": lambda n: "- $a\n" * n,
    "a display opening then list lines": lambda n: "$$a\n" + "- $b\n" * n,
    "unclosed on every line": lambda n: "".join(f"$x{i}\n- " for i in range(n)),
}


def _calls(text: str) -> int:
    """Function calls (Python and C) made rendering ``text``: work, whatever the machine's speed."""
    count = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal count
        count += event in {"call", "c_call"}

    sys.setprofile(profile)
    try:
        rendering._render(text)
    finally:
        sys.setprofile(None)
    return count


def _cpu_seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        rendering._render(text)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("shape", PATHOLOGICAL)
def test_rendering_is_linear_in_the_text(shape: str) -> None:
    """Four times the text, about four times the work: call counts for what Python does, CPU
    time for what the regular-expression engine does inside one call (linear gives 4, quadratic
    16; the best of three runs of each)."""
    make = PATHOLOGICAL[shape]
    n = 100
    while len(make(8 * n)) <= 8000:
        n *= 2
    small, large = make(n), make(4 * n)  # up to 8,000 characters: under the bound, so parsed
    assert _calls(large) / _calls(small) < 5
    assert _cpu_seconds(large) / _cpu_seconds(small) < 8


def test_the_cache_is_bounded_by_characters() -> None:
    cache = rendering._RenderCache(1600)
    for n in range(40):
        cache.put(f"text {n:02d}", "x" * 92)
    assert cache.held <= 1600
    assert cache.get("text 00") is None and cache.get("text 39") == "x" * 92
    cache.put("huge", "x" * 200)  # over a sixteenth of the budget: never kept
    assert cache.get("huge") is None


def _sign_in(world: World, username: str) -> None:
    api = world.client
    assert api is not None
    api.cookies.clear()
    page = api.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    reply = api.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD},
                     follow_redirects=False)
    assert reply.status_code == 303


LOOKALIKE = "ASSAYMATH0ASSAYMATH"
ITEM = {
    "id": "placeholder-lookalike", "type": "single_choice", "title": "Lookalike",
    "stem": f"Which is {LOOKALIKE}, with $x^2$?",
    "options": [{"text": LOOKALIKE, "correct": True, "feedback": f"Yes: {LOOKALIKE}."},
                {"text": "$y$", "correct": False}],
    "solution": f"Because {LOOKALIKE}.", "shuffle": False,
}


def test_a_placeholder_lookalike_in_a_stem_an_option_and_a_comment_shows_as_text(world: World) -> None:
    """It turned the attempt, review, grading and item pages into 500s."""
    api = world.client
    assert api is not None
    teacher = world.user("teacher", Role.INSTRUCTOR)
    student = world.user("student")
    course = world.course("llms", (teacher, CourseRole.INSTRUCTOR), (student, CourseRole.STUDENT))
    save_definition(world.db, ITEM, source="test", actor_id=None, now=T0)
    quiz = world.quiz(course, [ITEM["id"]])
    world.db.commit()
    me = world.headers(student)
    attempt = api.post(f"/api/v1/quizzes/{quiz.id}/attempts", headers=me).json()
    slot = attempt["questions"][0]
    assert slot["question"]["options"][0]["text"] == LOOKALIKE
    saved = api.put(f"/api/v1/attempts/{attempt['id']}/responses/1", headers=me,
                    json={"response": {"choice": slot["question"]["options"][0]["id"]}, "seq": slot["seq"]})
    assert saved.status_code == 200, saved.text
    _sign_in(world, "student")
    page = api.get(f"/attempts/{attempt['id']}")
    assert page.status_code == 200
    assert page.text.count(LOOKALIKE) >= 3  # the stem, the option and its aria-label
    assert api.post(f"/api/v1/attempts/{attempt['id']}/submit", headers=me).status_code == 200
    graded = api.post(f"/api/v1/attempts/{attempt['id']}/slots/1/grade", headers=world.headers(teacher),
                      json={"fraction": 1, "comment": f"Quite right: {LOOKALIKE} $z$."})
    assert graded.status_code == 200, graded.text

    review = api.get(f"/attempts/{attempt['id']}/review")
    assert review.status_code == 200
    assert f"Quite right: {LOOKALIKE} " + _inline("z") in review.text
    assert f"Because {LOOKALIKE}." in review.text
    _sign_in(world, "teacher")
    for url in (f"/attempts/{attempt['id']}/grade", f"/bank/{ITEM['id']}"):
        shown = api.get(url)
        assert shown.status_code == 200, url
        assert LOOKALIKE in shown.text and _inline("x^2") in shown.text, url
