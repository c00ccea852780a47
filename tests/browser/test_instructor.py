"""An instructor in a real browser: the bank with filters, an item's preview at a chosen seed,
and a quiz built with the builder."""

from __future__ import annotations

import re
from typing import Any

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in

SEED_ITEM = "ranking-loss-which-pair-is-penalised"


def test_bank_filters_and_item_preview(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/bank")
    everything = page.locator("table.list tbody tr").count()
    assert everything >= 60
    page.check("input[value='bloom:Analysis']")
    page.click("form.filters button[type=submit]")
    filtered = page.locator("table.list tbody tr").count()
    assert 0 < filtered < everything
    shoot(page, "instructor-bank")
    check_accessibility(page)

    page.goto(f"{live_server.url}/bank/{SEED_ITEM}?seed=3")
    first = page.locator("ol.preview-options").inner_text()
    assert "Key:" in page.content() and "absolute-scores" in page.content()
    page.fill("#seed", "4")
    page.click("form.seed button[type=submit]")
    page.wait_for_url(re.compile(r".*seed=4$"))
    assert page.locator("ol.preview-options").inner_text() != first, "another seed, other numbers"
    shoot(page, "instructor-item-preview")
    check_accessibility(page)


def test_instructor_builds_a_quiz(page: Any, live_server: LiveServer) -> None:
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/courses/foundations-of-llms/quizzes/new")
    check_accessibility(page)
    page.fill("#title", "Alignment check")
    page.fill("#section-0-items", SEED_ITEM)
    page.fill("#section-1-tags", "chapter:Ch.4 Alignment\nbloom:Analysis")
    page.fill("#section-1-count", "2")
    page.select_option("#behaviour", "interactive")
    shoot(page, "instructor-quiz-builder")
    page.click("form.builder > button[type=submit]")
    page.wait_for_url(re.compile(r".*/quizzes/\d+$"))
    assert "Alignment check" in page.content() and "3 (3 marks)" in page.content()

    page.goto(f"{live_server.url}/courses/foundations-of-llms/quizzes/new")
    page.fill("#title", "Broken")
    page.fill("#section-0-items", "no-such-item")
    page.click("form.builder > button[type=submit]")
    assert "no item 'no-such-item'" in page.content()
    page.errors.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
