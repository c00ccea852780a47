"""Item models: every question type validates, and mistakes are reported with their paths."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.content.loader import ContentError, load_item_text
from engine.items import ItemProblems, ParamSpec, Tags, parse_item
from engine.items.limits import MAX_COMPUTE, MAX_LONG_TEXT_LENGTH
from engine.texts import parse_template
from tests.engine import samples


def base(**fields: object) -> dict[str, object]:
    data: dict[str, object] = {"id": "x", "title": "t", "stem": "s"}
    data.update(fields)
    return data


@pytest.mark.parametrize(
    "text",
    [samples.SEED, samples.NUMERIC, samples.SINGLE, samples.TRUE_FALSE, samples.ORDERING,
     samples.MATCHING, samples.SHORT, samples.ESSAY],
)
def test_every_question_type_loads(text: str) -> None:
    item = samples.item(text)
    assert item.type_name in {"multiple_response", "numeric", "single_choice", "true_false",
                              "ordering", "matching", "short_text", "essay"}


def test_tags_take_single_values_and_hierarchy_paths() -> None:
    tags = Tags.model_validate({
        "chapter": "Ch.4 Alignment",
        "discipline": ["Science >Empirical Science>  Social Science > Psychology"],
    })
    assert tags.values("chapter") == ("Ch.4 Alignment",)
    assert tags.values("discipline") == ("Science > Empirical Science > Social Science > Psychology",)
    assert tags.matches("discipline:Science > Empirical Science")
    assert not tags.matches("discipline:Science > Formal Science")
    assert tags.matches("chapter:Ch.4 Alignment")
    with pytest.raises(ValidationError, match="empty level"):
        Tags.model_validate({"discipline": "Science > > Psychology"})


def test_params_declare_exactly_one_distribution() -> None:
    assert ParamSpec(uniform=(-3, 3), step=0.1, size=4).shape == (4,)
    assert ParamSpec(uniform=(-3, 3), step=0.1).decimals == 1
    for bad, message in [
        ({"uniform": (0, 1), "integers": (0, 3)}, "exactly one"),
        ({"uniform": (1, 0)}, "low < high"),
        ({"uniform": (0, 1), "step": 0.3}, "divide"),
        ({"integers": (0, 3), "step": 1}, "step goes with uniform"),
        ({"value": 3, "size": 2}, "takes no size"),
    ]:
        with pytest.raises(ValidationError, match=message):
            ParamSpec.model_validate(bad)


def test_expressions_are_checked_when_the_item_is_built() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_item(base(type="numeric", answer="x.__class__"))
    error = caught.value.errors()[0]
    assert error["loc"][-1] == "answer"
    assert "attribute access" in error["msg"]


def test_unknown_names_are_problems_with_paths() -> None:
    with pytest.raises(ItemProblems) as caught:
        parse_item(base(type="numeric", params={"a": {"value": 1}},
                        compute={"b": "a + c", "c": "2 * a"}, answer="b + nope"))
    problems = dict(caught.value.problems)
    assert "computed later" in problems[("compute", "b")]
    assert "unknown name 'nope'" in problems[("answer",)]


def test_misconceptions_must_fit_the_type() -> None:
    with pytest.raises(ItemProblems) as caught:
        parse_item(base(type="numeric", answer="1", misconceptions={"m": {"says": "x", "selects": "i > 0"}}))
    assert caught.value.problems[0][0] == ("misconceptions", "m")
    with pytest.raises(ItemProblems, match="scoring method 'partial' does not apply"):
        parse_item(base(type="single_choice", options=[{"text": "a", "correct": True}, {"text": "b"}],
                        scoring={"method": "partial"}))


def test_for_each_ranges_are_literal_and_bounded() -> None:
    for bad in ("i in 3..1", "i in 0..99", "i from 0 to 3"):
        with pytest.raises(ValidationError):
            parse_item(base(type="single_choice", options={"for_each": bad, "text": "t"}))


def test_expect_must_have_the_keys_shape() -> None:
    with pytest.raises(ItemProblems, match="expect must be a number"):
        parse_item(base(type="numeric", answer="1", expect=True))
    with pytest.raises(ItemProblems, match="option indices from 0 to 1"):
        parse_item(base(type="single_choice", expect=[5],
                        options=[{"text": "a", "correct": True}, {"text": "b"}]))


# --- author text and counts are bounded (red team: a 48 KB stem froze the Markdown renderer) --

CHOICE = base(type="single_choice", options=[{"text": "a", "correct": True}, {"text": "b"}])


@pytest.mark.parametrize(("fields", "where", "message"), [
    ({"stem": "x" * 48_000}, ("stem",), "at most 10000 characters"),
    ({"solution": "x" * (MAX_LONG_TEXT_LENGTH + 1)}, ("solution",), "at most 10000 characters"),
    ({"title": "t" * 301}, ("title",), "at most 300 characters"),
    ({"options": [{"text": "a" * 2001, "correct": True}, {"text": "b"}]}, ("options", "listed", 0, "text"),
     "at most 2000 characters"),
    ({"options": [{"text": "a", "correct": True, "feedback": "f" * 2001}, {"text": "b"}]},
     ("options", "listed", 0, "feedback"), "at most 2000 characters"),
    ({"misconceptions": {"m": {"says": "s" * 2001}}}, ("misconceptions", "m", "says"), "at most 2000 characters"),
    ({"id": "a" * 121}, ("id",), "at most 120 characters"),
    ({"tags": {"chapter": "c" * 301}}, ("tags", "chapter", 0), "at most 300 characters"),
])
def test_author_texts_are_bounded_where_they_are_written(fields: dict[str, object], where: tuple[object, ...],
                                                          message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_item({**CHOICE, **fields})
    errors = caught.value.errors()
    assert [e["loc"][1:] for e in errors] == [where]  # loc[0] names the question type
    assert message in errors[0]["msg"]


@pytest.mark.parametrize(("fields", "message"), [
    ({"compute": {f"c{n}": "nope(" for n in range(MAX_COMPUTE + 1)}}, "at most 32 computed values, not 33"),
    ({"constraints": ["nope("] * 33}, "at most 32 constraints, not 33"),
    ({"params": {f"p{n}": {"value": 1} for n in range(33)}}, "at most 32 parameters, not 33"),
    ({"options": [{"text": "{{ nope( }}"}] * 27}, "at most 26 options, not 27"),
    ({"misconceptions": {f"m{n}": {"says": "s"} for n in range(27)}}, "at most 26 misconceptions, not 27"),
    ({"tags": {f"f{n}": "v" for n in range(21)}}, "at most 20 tag facets, not 21"),
    ({"concepts": ["c"] * 51}, "at most 50 concepts, not 51"),
])
def test_counts_are_refused_before_their_entries_are_checked(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_item({**CHOICE, **fields})
    assert [e["msg"].removeprefix("Value error, ") for e in caught.value.errors()] == [message]


def test_parameter_lists_are_bounded() -> None:
    with pytest.raises(ValidationError, match="at most 64 numbers in a value, not 65"):
        ParamSpec.model_validate({"value": list(range(65))})
    with pytest.raises(ValidationError, match="at most 100 choices, not 101"):
        ParamSpec.model_validate({"choice": list(range(101))})
    assert ParamSpec.model_validate({"value": list(range(64))}).shape == (64,)


def test_every_text_an_item_fills_in_is_listed_with_its_bindings() -> None:
    """templates() is what a check fills in: every expression expressions() lists is a field of
    one of its texts, or a condition, rank or value (no text)."""
    conditions = {"constraints", "compute", "correct", "rank", "answer", "selects", "value", "order_by"}
    for text in (samples.SEED, samples.NUMERIC, samples.SINGLE, samples.TRUE_FALSE, samples.ORDERING,
                 samples.MATCHING, samples.SHORT, samples.ESSAY):
        item = samples.item(text)
        fields = {(path, e.source) for path, text, _ in item.templates() for e in parse_template(text).expressions}
        for path, expression, _ in item.expressions():
            assert (path, expression.source) in fields or {path[0], path[-1]} & conditions, (item.id, path)
    seed = samples.item(samples.SEED)
    assert [(p, b) for p, _, b in seed.templates() if p == ("options", "text")] == [
        (("options", "text"), {"i": n}) for n in range(4)]
    matching = {p for p, _, _ in samples.item(samples.MATCHING).templates()}
    assert matching >= {("pairs", 0, "prompt"), ("pairs", 0, "answer")}


def test_nested_yaml_aliases_cost_their_size_not_their_expansion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six levels of ten aliases name a million strings (nine levels, a billion); each node is
    looked at once."""
    from engine.content import source

    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 7)]
    visits = 0
    walk = source._duplicates

    def counted(*args: object) -> list[source.Problem]:
        nonlocal visits
        visits += 1
        return walk(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(source, "_duplicates", counted)
    with pytest.raises(ContentError, match="unknown field 'a6'"):
        load_item_text("\n".join(["id: x", "type: numeric", "title: t", "stem: s", "answer: '1'", *lines]))
    assert visits < 1_000  # 20 mappings, sequences and scalars, and the aliases met again
