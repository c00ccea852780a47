"""The FastAPI application: routers, error handlers, sessions, and the overdue-attempt sweep."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import anyio.to_thread
from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from assessments import apart, errors, limits, openapi
from assessments.attempts.endpoints import router as attempts_router
from assessments.attempts.service import sweep
from assessments.auth.endpoints import router as auth_router
from assessments.bank.endpoints import banks_router, declarations_router
from assessments.bank.endpoints import router as bank_router
from assessments.config import Settings, get_settings
from assessments.courses.endpoints import router as courses_router
from assessments.db import Database, session_scope
from assessments.grading.endpoints import router as grading_router
from assessments.jobs import work
from assessments.lti.endpoints import api as lti_api_router
from assessments.lti.endpoints import router as lti_router
from assessments.models import LtiPlatform, utcnow
from assessments.practice.endpoints import router as practice_router
from assessments.query import known_query_parameters
from assessments.quizzes.endpoints import router as quizzes_router
from assessments.reports.endpoints import router as reports_router
from assessments.reports.results_endpoints import router as results_router
from assessments.security import SecurityHeaders, Sessions
from assessments.web.apidocs import router as apidocs_router
from assessments.web.authoring import router as authoring_router
from assessments.web.instructor import router as instructor_router
from assessments.web.pages import router as pages_router
from assessments.web.picker import router as picker_router
from assessments.web.practice import router as practice_pages_router
from assessments.web.quizlife import router as quizlife_router
from assessments.web.reports import router as reports_pages_router
from assessments.web.taking import router as taking_router
from assessments.web.teaching import router as teaching_router
from assessments.web.templating import STATIC, error_page

log = logging.getLogger("assay")

THREADS = 64
"""The thread pool that runs synchronous endpoints."""
SQLITE_SESSIONS = 24
POSTGRES_SESSIONS = 36
"""Requests holding a database session at once (PostgreSQL: within the engine's pool of 40)."""

API_DESCRIPTION = """Assay's REST API, version 1. Authenticate with `POST /api/v1/auth/token` (a
bearer token that expires) or a personal API token (`POST /api/v1/auth/tokens`). Errors have the
body `{"error": {"code", "message", "details"}}`; 422 means a payload that does not match its schema.
Keys, fractions and feedback appear only where the quiz's review policy allows."""


def _sweeper(app: FastAPI, stop: threading.Event) -> None:
    settings: Settings = app.state.settings
    while not stop.wait(settings.sweep_seconds):
        try:
            with session_scope(app.state.database) as session:
                closed = sweep(session, utcnow(), settings.grace_seconds)
            if closed:
                log.info("closed and graded %d overdue attempt(s)", len(closed))
        except Exception:  # a sweep that fails must not stop the next one
            log.exception("the overdue-attempt sweep failed")


def lti_cookie_warning(settings: Settings, registered: int) -> str | None:
    """What to say at start when platforms are registered but a launch's cookies cannot work in their
    frames (browsers refuse ``SameSite=None`` without ``Secure``); None when all is well."""
    if settings.secure_cookies or not registered:
        return None
    return (f"{registered} LTI platform(s) are registered but cookies are not Secure (ASSAY_PUBLIC_URL is "
            f"{settings.public_url or 'unset'}): browsers refuse SameSite=None cookies without Secure, so "
            "launches inside an LMS's frame will fail. Set ASSAY_PUBLIC_URL to Assay's https address.")


def _warn_about_lti_cookies(app: FastAPI) -> None:
    settings: Settings = app.state.settings
    if settings.secure_cookies:
        return
    try:
        with session_scope(app.state.database) as session:
            registered = session.scalar(select(func.count()).select_from(LtiPlatform)) or 0
    except SQLAlchemyError:  # a database not yet upgraded has nothing registered to warn about
        return
    message = lti_cookie_warning(settings, registered)
    if message:
        log.warning(message)


def create_app(settings: Settings | None = None, database: Database | None = None, *,
               sweeper: bool = False) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database(settings.resolved_database_url,
                                    statement_timeout_ms=settings.statement_timeout_ms,
                                    busy_timeout_ms=settings.sqlite_busy_timeout_ms)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync endpoints run in AnyIO's thread pool; keep more threads than database sessions.
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        app.state.db_gate = anyio.Semaphore(SQLITE_SESSIONS if database.is_sqlite else POSTGRES_SESSIONS)
        # Quiz-taking work on SQLite, a few at a time (see Settings.sqlite_attempt_concurrency).
        app.state.attempt_lane = (threading.BoundedSemaphore(settings.sqlite_attempt_concurrency)
                                  if database.is_sqlite else None)
        stop = threading.Event()
        threads = []
        if sweeper:
            _warn_about_lti_cookies(app)
            threads.append(threading.Thread(target=_sweeper, args=(app, stop), daemon=True, name="sweeper"))
            if settings.worker_in_process:
                threads.append(threading.Thread(target=work, args=(app.state.database, stop), daemon=True,
                                                name="worker"))
        for thread in threads:
            thread.start()
        if sweeper:
            # What the server holds once started (modules, classes, the app) lives as long as it
            # does: kept out of the collector's full passes, each of which paused every request of
            # the process for 50 ms or more (over 100 ms once caches had grown).
            gc.collect()
            gc.freeze()
        yield
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
        apart.shut_down()  # the processes of imports' checks and large exports, if any started

    app = FastAPI(title="Assay", version="1", description=API_DESCRIPTION, lifespan=lifespan,
                  dependencies=[Depends(known_query_parameters)],
                  docs_url=None, redoc_url=None)  # served by assessments.web.apidocs, without a CDN
    app.state.settings = settings
    app.state.database = database
    limits.install(app, settings)  # first: its middleware runs inside the session's
    app.add_middleware(SecurityHeaders)  # inside the session's: it reads the session's frame policy
    app.add_middleware(Sessions, secret_key=settings.resolved_secret_key, secure=settings.secure_cookies)
    errors.install(app)
    openapi.install(app)
    app.state.error_page = error_page
    # Taking a quiz first: a request is matched against the routes in order, and a student's start
    # and saves are most of what is asked while a quiz is open (the rest checked 100 routes first).
    for router in (attempts_router, auth_router, courses_router, banks_router, declarations_router, bank_router,
                   quizzes_router, grading_router, reports_router, practice_router, pages_router, taking_router,
                   authoring_router, picker_router, instructor_router, teaching_router, quizlife_router,
                   practice_pages_router, lti_api_router, lti_router, apidocs_router):
        app.include_router(router)
    app.include_router(results_router)  # the results and responses reports, their export, "my attempts"
    app.include_router(reports_pages_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def create_served_app() -> FastAPI:
    """The application ``assay serve`` runs in each worker (settings from the environment)."""
    return create_app(sweeper=True)
