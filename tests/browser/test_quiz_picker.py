"""The quiz builder's item picker in a real browser: filter the bank, pick two items (their marks
start at their own max mark), and give a second section a tag draw whose count of matching items
updates as the tags are typed; then the draft is made. At 1280 and 390 px (no sideways scroll), axe
on the page; and the same picking without JavaScript, the whole form posted back each time."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import LiveServer, check_accessibility, opened_page, shoot, sign_in

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
COURSE = "foundations-of-llms"
CHAPTER = "chapter:Ch.4 Alignment"
DRAW = f"{CHAPTER}\nbloom:Analysis"
ZONE = "Europe/Paris"
"""The browser's time zone: the builder's dates are read in it (its script fills it in)."""


@pytest.fixture
def sized(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page at the size the test is parametrised with; JavaScript off where the test says."""
    viewport, script = request.param
    with opened_page(browser, viewport=viewport, bypass_csp=True, java_script_enabled=script,
                     has_touch=viewport == PHONE, timezone_id=ZONE) as page:
        yield page
    assert page.errors == [], page.errors


def _no_sideways_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width}px wide"


def _truth(page: Any, live_server: LiveServer, **params: Any) -> dict[str, Any]:
    """What the picker's endpoint says, as the signed-in instructor: the figures the page must show."""
    query = urlencode(params, doseq=True)  # a list is its parameter repeated
    reply = page.request.get(f"{live_server.url}/courses/{COURSE}/quizzes/picker?{query}")
    assert reply.ok, reply.text()
    body: dict[str, Any] = reply.json()
    return body


def _chapter_select(page: Any) -> Any:
    return page.locator("select[name=pick-tag]").filter(has=page.locator(f"option[value='{CHAPTER}']"))


@pytest.mark.parametrize("sized", [pytest.param((DESKTOP, True), id="desktop"),
                                   pytest.param((PHONE, True), id="phone")], indirect=True)
def test_build_a_quiz_with_the_picker(sized: Any, live_server: LiveServer) -> None:
    page = sized
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/courses/{COURSE}/quizzes/new")
    page.fill("#title", "Picked in the browser")
    assert page.input_value("#tz") == ZONE, "the dates are in the instructor's own time zone"

    # filter: a chapter, then text typed (the results follow as one types)
    expected = _truth(page, live_server, tag=CHAPTER, q="loss")
    assert 2 <= expected["count"] <= 25, expected
    _chapter_select(page).select_option(CHAPTER)
    page.locator("#pick-q").press_sequentially("loss", delay=30)
    count = page.locator("[data-picker-count]")
    count.filter(has_text=f"{expected['count']} items match").wait_for()
    first, second = expected["items"][0], expected["items"][1]
    assert page.locator("[data-picker-results] input[name=pick]").evaluate_all(
        "boxes => boxes.map(b => b.value)") == [i["key"] for i in expected["items"]]

    # pick two items into section 1: each row's mark starts at the item's own max mark
    page.check(f"#pick-{first['key']}")
    page.check(f"#pick-{second['key']}")
    page.select_option("#pick-section", "0")
    page.click("[data-picker-add]")
    rows = page.locator("[data-picked='0'] tr")
    assert rows.count() == 2
    assert page.input_value(f"#section-0-mark-{first['key']}") == f"{first['max_mark']:g}"
    assert page.input_value("#section-0-items") == f"{first['key']}\n{second['key']}"
    assert "Added to section 1" in count.inner_text()

    # a tag draw in section 2: its count follows the tags as they are typed
    pool = _truth(page, live_server, tag=DRAW.split("\n"), limit=0, marks="true")
    matches = pool["count"]
    assert matches >= 2 and pool["marks"] == [1.0], pool
    page.locator("#section-1-tags").press_sequentially(CHAPTER, delay=10)
    chapter_only = _truth(page, live_server, tag=CHAPTER, limit=0)["count"]
    page.locator("#section-1-matches").filter(has_text=f"{chapter_only} items match these tags").wait_for()
    page.locator("#section-1-tags").press("Enter")
    page.locator("#section-1-tags").press_sequentially("bloom:Analysis", delay=10)
    page.locator("#section-1-matches").filter(
        has_text=f"{matches} items match these tags, worth 1 mark each.").wait_for()
    page.fill("#section-1-count", "2")
    page.fill("#section-1-mark", "1")
    name = "desktop" if page.viewport_size["width"] > 500 else "phone"
    shoot(page, f"quiz-picker-{name}")
    _no_sideways_scroll(page)
    check_accessibility(page)

    page.click("form.builder > button[type=submit]")
    page.wait_for_url(re.compile(r".*/quizzes/\d+$"))
    marks = first["max_mark"] + second["max_mark"] + 2
    assert "Picked in the browser" in page.content()
    assert f"4 ({marks:g} marks)" in page.content()


@pytest.mark.parametrize("sized", [pytest.param((PHONE, False), id="phone-no-script")], indirect=True)
def test_pick_without_javascript(sized: Any, live_server: LiveServer) -> None:
    page = sized
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/courses/{COURSE}/quizzes/new")
    page.fill("#title", "Picked without a script")
    assert page.input_value("#tz") == "UTC", "named in the form, to change by hand"
    _chapter_select(page).select_option(CHAPTER)
    page.fill("#pick-q", "loss")
    with page.expect_navigation():
        page.press("#pick-q", "Enter")  # Enter searches (the form's first button), it never makes the quiz
    expected = _truth(page, live_server, tag=CHAPTER, q="loss")
    assert f"{expected['count']} items match" in page.locator("[data-picker-count]").inner_text()
    assert page.input_value("#title") == "Picked without a script", "the form is kept"
    first, second = expected["items"][0], expected["items"][1]
    page.check(f"#pick-{first['key']}")
    page.check(f"#pick-{second['key']}")
    page.click("[data-picker-add]")
    page.wait_for_load_state()
    assert page.input_value("#section-0-items") == f"{first['key']}\n{second['key']}"
    assert page.input_value(f"#section-0-mark-{second['key']}") == f"{second['max_mark']:g}"
    page.fill("#section-1-tags", DRAW)
    page.click("#section-1-tags ~ button[data-count-button]")
    page.wait_for_load_state()
    matches = _truth(page, live_server, tag=DRAW.split("\n"), limit=0)["count"]
    assert f"{matches} items match these tags" in page.locator("#section-1-matches").inner_text()
    _no_sideways_scroll(page)  # axe needs a script: it checks this page in the test above
    page.fill("#section-1-count", "1")
    page.fill("#section-1-mark", "1")
    page.click("form.builder > button[type=submit]")
    page.wait_for_url(re.compile(r".*/quizzes/\d+$"))
    assert f"3 ({first['max_mark'] + second['max_mark'] + 1:g} marks)" in page.content()
