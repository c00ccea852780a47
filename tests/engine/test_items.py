"""Item models: every question type validates, and mistakes are reported with their paths."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from engine.items import ItemProblems, ParamSpec, Tags, parse_item
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
