"""An instructor names a chapter the bank does not declare: the checker marks it at its line with a
"Declare" button; declared, the item checks clean; tag values and concepts complete from the bank's
declarations as they are typed. At desktop and phone widths, with axe, and no sideways scroll."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LiveServer, check_accessibility, shoot, sign_in
from tests.browser.test_authoring import PHONE, editor_text, results


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_an_instructor_declares_a_new_chapter_and_completes_a_concept(page: Any, live_server: LiveServer,
                                                                      size: str) -> None:
    if size == "phone":
        page.set_viewport_size(PHONE)
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/bank/new?template=numeric")
    results(page, "The checker found no problem")
    template = page.locator("#text").input_value()
    assert "chapter: Ch.4 Alignment" in template
    chapter = f"Ch.7 Declared on a {size}"
    text = template.replace("id: example-ranking-loss-value", f"id: declared-on-a-{size}").replace(
        "chapter: Ch.4 Alignment", f"chapter: {chapter}")
    line = next(n for n, row in enumerate(text.splitlines(), start=1) if chapter in row)
    editor_text(page, text)
    shown = results(page, "There is a problem")
    assert f"Line {line}: tag value '{chapter}' is not declared for facet 'chapter'" in shown
    button = page.locator(f"button[name=declare][value='facet:chapter={chapter}']")
    assert button.count() == 1 and page.locator(".cm-problem-line").count() == 1
    check_accessibility(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    shoot(page, f"instructor-editor-undeclared-{size}")

    button.click()
    results(page, f"Declared chapter: {chapter} in the bank")
    assert "The checker found no problem" in results(page, "The checker found no problem")
    assert page.locator("#text").input_value() == text, "declaring leaves the text as it was"

    # The new chapter and the bank's concepts complete as they are typed.
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.insert_text("\nconcepts: [reward-model-n")
    page.keyboard.type("l")
    option = page.locator(".cm-tooltip-autocomplete li", has_text="reward-model-nll")
    option.wait_for(timeout=10_000)
    option.dispatch_event("mousedown")  # as a click picks it (the list may open below the fold)
    assert page.locator("#text").input_value().endswith("concepts: [reward-model-nll")
    check_accessibility(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"]
    shoot(page, f"instructor-editor-declared-{size}")
