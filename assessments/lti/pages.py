"""The few HTML pages LTI needs: the deep linking picker, the form that returns to the LMS, notices.

They extend the site's ``base.html``; the auto-submitting form gets its own Content-Security-Policy
(its inline script by nonce, and a form action to the platform's return URL only).
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from assessments.web.security import CONTENT_SECURITY_POLICY, csrf_token
from assessments.web.templating import templates

PICKER = templates.env.from_string("""{% extends "base.html" %}
{% block title %}Choose a quiz{% endblock %}
{% block main %}
<section class="card narrow">
  <h1>Choose a quiz for {{ course.title }}</h1>
  {% if quizzes %}
  <form method="post" action="/lti/deep-link">
    <input type="hidden" name="{{ CSRF_FIELD }}" value="{{ csrf }}">
    <fieldset><legend>Quizzes of this course</legend>
    {% for quiz in quizzes %}
      <label><input type="radio" name="quiz_id" value="{{ quiz.id }}" {% if loop.first %}checked{% endif %}>
        {{ quiz.title }}</label><br>
    {% endfor %}
    </fieldset>
    <button type="submit">Add to the course</button>
  </form>
  {% else %}
  <p>This course has no quiz yet. <a href="/courses/{{ course.slug }}/quizzes/new">Build one</a>,
     then come back to this page.</p>
  {% endif %}
</section>
{% endblock %}""")

RETURN = templates.env.from_string("""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Returning to your LMS · Assay</title></head>
<body>
<form id="lti-return" method="post" action="{{ url }}">
  <input type="hidden" name="JWT" value="{{ jwt }}">
  <p>Returning to your course…</p>
  <noscript><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{ nonce }}">document.getElementById("lti-return").submit();</script>
</body></html>""")

NOTICE = templates.env.from_string("""{% extends "base.html" %}
{% block title %}{{ title }}{% endblock %}
{% block main %}<section class="card narrow"><h1>{{ title }}</h1><p>{{ message }}</p></section>{% endblock %}""")


def _render(request: Request, template: Any, status_code: int = 200, **context: Any) -> HTMLResponse:
    body = template.render(request=request, user=getattr(request.state, "user", None), csrf=csrf_token(request),
                           **context)
    return HTMLResponse(body, status_code=status_code)


def picker(request: Request, course: Any, quizzes: list[Any]) -> HTMLResponse:
    return _render(request, PICKER, course=course, quizzes=quizzes)


def notice(request: Request, title: str, message: str) -> HTMLResponse:
    return _render(request, NOTICE, title=title, message=message)


def auto_submit(url: str, jwt: str) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    policy = CONTENT_SECURITY_POLICY.replace("script-src 'self'", f"script-src 'nonce-{nonce}'").replace(
        "form-action 'self'", f"form-action {origin}")
    response = HTMLResponse(RETURN.render(url=url, jwt=jwt, nonce=nonce))
    response.headers["content-security-policy"] = policy
    response.headers["cache-control"] = "no-store"
    return response
