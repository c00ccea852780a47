"""An instructor authors in the browser, under Assay's real Content-Security-Policy: a computed
item from a template, a checker error at its line and fixed, three seeds previewed, saved, edited
into version 2 and the two compared; a GIFT file with a bad question refused with its line and
nothing imported, then the fixed file imported; the bank exported as YAML and QTI. Every page at
desktop and phone widths with axe; none scrolls sideways on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import LiveServer, check_accessibility, opened_page, shoot, sign_in

NEW_ID = "browser-written-tie-loss"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def strict_page(browser: Any) -> Iterator[Any]:
    """A page under Assay's own Content-Security-Policy (the shared fixture bypasses it to inject
    axe): what CodeMirror's styles and the editor's script must work with."""
    with opened_page(browser, viewport={"width": 1280, "height": 900}, accept_downloads=True) as page:
        yield page


def editor_text(page: Any, text: str) -> None:
    """Replace the editor's text as a person pasting it would."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)


def results(page: Any, expect: str) -> str:
    page.wait_for_function("(t) => document.querySelector('#results').innerText.includes(t)", arg=expect,
                           timeout=15_000)
    return str(page.locator("#results").inner_text())


def test_an_instructor_writes_checks_saves_and_revises_an_item(strict_page: Any, live_server: LiveServer) -> None:
    page = strict_page
    sign_in(page, live_server, "instructor")
    page.goto(f"{live_server.url}/bank")
    page.click("text=New item")
    assert page.locator("details.starters[open]").count() == 1, "an empty editor offers the templates"
    page.click("a[href='/bank/new?template=numeric']")
    assert page.locator(".cm-editor").count() == 1, "CodeMirror runs under the page's policy"
    assert page.locator(".cm-lineNumbers").count() == 1
    template = page.locator("#text").input_value()
    assert "type: numeric" in template
    results(page, "The checker found no problem")  # the template is checked as it opens

    broken = template.replace("example-ranking-loss-value", NEW_ID).replace(
        "answer: ranking_loss(r_w, r_l)", "answer: ranking_loss(r_w, r_x)")
    line = next(n for n, text in enumerate(broken.splitlines(), start=1) if text.startswith("answer:"))
    editor_text(page, broken)
    shown = results(page, "There is a problem")
    assert f"Line {line}:" in shown and "r_x" in shown
    assert page.locator(".cm-problem-line").count() == 1, "the line is marked in the editor"
    shoot(page, "instructor-editor-problem")

    fixed = broken.replace("r_x", "r_l")
    editor_text(page, fixed)
    results(page, "The checker found no problem")
    seen = set()
    for _ in range(3):
        seen.add(page.locator("#preview-student").locator("xpath=..").inner_text())
        page.click("button[value=next]")
        page.wait_for_load_state()
    assert len(seen) == 3, "three seeds, three variants"
    assert "Seed 3:" in page.locator("#results").inner_text()
    shoot(page, "instructor-editor")
    page.click("button[value=save]")
    page.wait_for_url(f"{live_server.url}/bank/{NEW_ID}?saved=1")
    assert "Version 1 is saved" in page.content()

    page.click("text=Edit")
    editor_text(page, page.locator("#text").input_value().replace("significant figures", "significant digits"))
    results(page, "The checker found no problem")
    page.click("button[value=save]")
    page.wait_for_url(f"{live_server.url}/bank/{NEW_ID}?saved=2")
    page.click("text=Versions (2)")
    changes = page.locator("table.diff tr.removed, table.diff tr.added").all_inner_texts()
    assert any("significant figures" in c for c in changes) and any("significant digits" in c for c in changes)
    assert page.errors == [], page.errors


GIFT_BAD = ("::browser-gift-one:: A tie's ranking loss, in nats? {#0.693:0.001}\n\n"
            "::browser-gift-two:: Broken {=yes ~no\n")
GIFT_GOOD = GIFT_BAD.replace("Broken {=yes ~no", "Is log 2 the loss of a tie? {TRUE}")


def test_an_import_is_refused_whole_then_made_and_the_bank_exported(strict_page: Any, live_server: LiveServer,
                                                                   tmp_path: Path) -> None:
    page = strict_page
    sign_in(page, live_server, "instructor")
    bad = tmp_path / "questions.gift"
    bad.write_text(GIFT_BAD)
    page.goto(f"{live_server.url}/bank/import")
    page.set_input_files("#file", str(bad))
    page.click("button:has-text('Check the file')")
    assert "The file cannot be imported" in page.content() and "Line 3" in page.content()
    page.goto(f"{live_server.url}/bank?q=browser-gift")
    assert page.locator("table.list tbody tr").count() == 0, "nothing imported"

    good = tmp_path / "questions-fixed.gift"
    good.write_text(GIFT_GOOD)
    page.goto(f"{live_server.url}/bank/import")
    page.set_input_files("#file", str(good))
    page.click("button:has-text('Check the file')")
    assert page.locator("table.list tbody tr").count() == 2 and "imported as a new item" in page.content()
    shoot(page, "instructor-import-report")
    page.click("button:has-text('Import these')")
    assert "2 new" in page.content()

    page.goto(f"{live_server.url}/bank?q=browser-gift")
    for label, expect in (("Assay YAML", b"id: browser-gift-one"), ("QTI 3.0", b"PK")):
        with page.expect_download() as download:
            page.click(f".exports a:has-text('{label}')")
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        assert saved.read_bytes().startswith(expect) or expect in saved.read_bytes()
    page.errors[:] = [e for e in page.errors if "status of 400" not in e]  # the refused file's report
    assert page.errors == [], page.errors


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_authoring_pages_pass_axe_and_fit_a_phone(page: Any, live_server: LiveServer, size: str) -> None:
    if size == "phone":
        page.set_viewport_size(PHONE)
    sign_in(page, live_server, "instructor")
    paths = ["/bank/new?template=ordering", "/bank/import", "/bank/ranking-loss-which-pair-is-penalised/versions",
             "/bank/new?copy=ranking-loss-which-pair-is-penalised"]
    for path in paths:
        page.goto(live_server.url + path)
        page.wait_for_load_state("networkidle")
        check_accessibility(page)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"], (path, width)
        name = re.sub(r"[^a-z]+", "-", path.split("?")[0].strip("/"))
        shoot(page, f"instructor-{name}-{size}")


def test_the_api_documentation_is_served_without_a_cdn(strict_page: Any, live_server: LiveServer) -> None:
    page = strict_page
    page.goto(f"{live_server.url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    assert page.get_by_text("/api/v1/items/check").count() >= 1
    page.goto(f"{live_server.url}/redoc")
    page.wait_for_selector("h2:has-text('Check')", timeout=20_000)
    # Redoc asks for its logo on its vendor's CDN; the policy refuses it, and that is all.
    assert all("cdn.redoc.ly" in e for e in page.errors), page.errors
