"""The web layer's promises: sanitised author text, MathML, CSRF on forms, security headers,
and error pages that are pages (never a stack trace)."""

from __future__ import annotations

from assessments.models import CourseRole, Role
from assessments.rendering import render_inline, render_markdown
from assessments.web.security import CONTENT_SECURITY_POLICY
from tests.assessments.conftest import World


def test_author_markdown_is_sanitised_and_latex_becomes_mathml() -> None:
    html = str(render_markdown(
        "**Loss** $-\\log\\sigma(\\Delta)$ <script>alert(1)</script> [x](javascript:alert(1)) "
        "<img src=x onerror=alert(1)>\n\n$$D_{\\mathrm{KL}}(p\\|q)$$"))
    assert "<strong>Loss</strong>" in html
    assert '<math alttext="-\\log\\sigma(\\Delta)" xmlns="http://www.w3.org/1998/Math/MathML" display="inline">' in html
    assert 'display="block"' in html
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html  # raw HTML is shown as text, never run
    assert str(render_inline("just *one* line")) == "just <em>one</em> line"
    assert "<code" in str(render_markdown("$\\frac{1}{$"))  # a broken formula shows its source


def test_pages_send_the_security_headers(world: World) -> None:
    api = world.client
    assert api is not None
    reply = api.get("/login")
    assert reply.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["x-content-type-options"] == "nosniff"


def _sign_in(world: World, username: str) -> None:
    api = world.client
    assert api is not None
    page = api.get("/login").text
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    reply = api.post("/login", data={"csrf_token": token, "username": username,
                                     "password": "correct horse battery"}, follow_redirects=False)
    assert reply.status_code == 303


def test_forms_without_the_csrf_token_are_refused(world: World) -> None:
    api = world.client
    assert api is not None
    student = world.user("student")
    course = world.course("llms", (student, CourseRole.STUDENT))
    quiz = world.quiz(course, ["tf"])
    world.db.commit()
    _sign_in(world, "student")
    refused = api.post(f"/quizzes/{quiz.id}/start", data={"csrf_token": "forged"})
    assert refused.status_code == 403
    assert "<h1>Not allowed</h1>" in refused.text and "did not come from Assay" in refused.text


def test_errors_are_pages_without_internals(world: World) -> None:
    api = world.client
    assert api is not None
    world.user("teacher", Role.INSTRUCTOR)
    world.db.commit()
    assert api.get("/", follow_redirects=False).headers["location"].startswith("/login?next=")
    _sign_in(world, "teacher")
    missing = api.get("/quizzes/999999")
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
    assert "Traceback" not in missing.text and "sqlalchemy" not in missing.text.lower()
    unknown = api.get("/no/such/page")
    assert unknown.status_code == 404 and "<h1>Not found</h1>" in unknown.text
    for huge in ("/quizzes/99999999999999999999", "/attempts/2147483648", "/quizzes/2147483648/statistics"):
        past_any_id = api.get(huge)  # past a 32-bit id (and SQLite's 64 bits): malformed, never a 500
        assert past_any_id.status_code == 422, (huge, past_any_id.status_code)
        assert "Traceback" not in past_any_id.text
    api_missing = api.get("/api/v1/quizzes/999999")
    assert api_missing.json() == {"error": {"code": "not_found", "message": "no quiz 999999"}}
