"""The ``assay`` command line: serve, migrate, manage users, load and check content.

Every command exits non-zero on a problem and prints content problems as ``file:line: message``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Assay: quizzes whose answers are computed, not typed.", no_args_is_help=True)
content_app = typer.Typer(help="Check, preview and load the item bank.", no_args_is_help=True)
db_app = typer.Typer(help="The database schema (Alembic migrations).", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
attempts_app = typer.Typer(help="Attempts.", no_args_is_help=True)
practice_app = typer.Typer(help="Practice.", no_args_is_help=True)
app.add_typer(content_app, name="content")
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(attempts_app, name="attempts")
app.add_typer(practice_app, name="practice")

DEFAULT_CONTENT = Path("content")
SEED_ITEM = "ranking-loss-which-pair-is-penalised"


def _find_item(path: Path, item_id: str) -> Any:
    from engine.content import ContentError
    from engine.content.loader import item_files, load_items

    loaded, problems = load_items(item_files(path), base=path)
    if problems:
        raise ContentError(problems)
    for entry in loaded:
        if entry.item.id == item_id:
            return entry.item
    known = ", ".join(sorted(e.item.id for e in loaded)[:10])
    typer.echo(f"no item {item_id!r} under {path} (some ids: {known})", err=True)
    raise typer.Exit(2)


def _print_preview(item: Any, seed: int, as_json: bool) -> None:
    from engine.qtypes import qtype_for
    from engine.texts import render
    from engine.variants import generate

    variant = generate(item, seed)
    qtype = qtype_for(item)
    shown = qtype.render(item, variant)
    key = qtype.correct_response(item, variant)
    solution = render(item.solution, variant.values) if item.solution else None
    if as_json:
        typer.echo(json.dumps({"variant": variant.to_json(), "question": shown, "key": key,
                               "solution": solution}, indent=2, ensure_ascii=False))
        return
    typer.echo(f"# {item.title}  [{item.id}, seed {seed}]")
    if variant.params:
        typer.echo("params: " + ", ".join(f"{k} = {v}" for k, v in variant.params.items()))
    typer.echo("")
    typer.echo(shown["stem"].rstrip())
    typer.echo("")
    for group in ("options", "prompts", "answers"):
        for entry in shown.get(group, []):
            typer.echo(f"  [{entry['id']}] {entry['text']}")
    typer.echo("")
    typer.echo(f"key: {json.dumps(key, ensure_ascii=False)}")
    if item.type_name != "essay":
        grade = qtype.grade(item, variant, qtype.parse(item, variant, key))
        typer.echo(f"grading the key: fraction {grade.fraction:g}")
        for line in grade.feedback:
            typer.echo(f"  feedback: {line}")
    if solution:
        typer.echo("")
        typer.echo("solution: " + solution.rstrip())


@content_app.command("check")
def content_check(
    path: Annotated[Path, typer.Argument(help="A bank folder, a folder of one's own, or one item file.")] = (
        DEFAULT_CONTENT),
    variants: Annotated[int, typer.Option(min=1, max=100_000, help="Variants per computed item.")] = 2000,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too (a guessable key, say).")] = False,
    bank: Annotated[Path | None, typer.Option(
        "--bank", help="The bank.yaml to check against (default: the nearest one above PATH).")] = None,
    jobs: Annotated[int | None, typer.Option(
        min=1, max=256, help="Processes checking items side by side (default: one per available core).")] = None,
) -> None:
    """Validate every item file and check every variant of every computed item.

    Errors fail the check; warnings (a key that is the same in most variants, say) fail it only
    with --strict. content/README.md lists every check."""
    from engine.content.checker import available_cores, check

    report = check(path, variants=variants, strict=strict, bank_file=bank, jobs=jobs or available_cores())
    shown = set(report.problems)
    for problem in [*report.problems, *(w for w in report.warnings if w not in shown)]:
        typer.echo(str(problem), err=True)
    typer.echo(report.summary())
    if not report.ok:
        raise typer.Exit(1)


@content_app.command("preview")
def content_preview(
    item_id: Annotated[str, typer.Argument(help="The item's id.")],
    seed: Annotated[int, typer.Option(min=0, help="The variant's seed.")] = 0,
    path: Annotated[Path, typer.Option(help="The bank folder.")] = DEFAULT_CONTENT,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print one variant of an item with its key, feedback and solution."""
    from engine.content import ContentError

    try:
        item = _find_item(path, item_id)
    except ContentError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    _print_preview(item, seed, as_json)


@content_app.command("coverage")
def content_coverage(
    path: Annotated[Path, typer.Argument(help="The bank folder.")] = DEFAULT_CONTENT,
    update: Annotated[Path | None, typer.Option(
        help="Write the tables into this Markdown file, between its coverage markers.")] = None,
    check: Annotated[Path | None, typer.Option(
        help="Exit 1 unless this Markdown file's tables are the bank's coverage.")] = None,
) -> None:
    """Print the bank's coverage as Markdown tables: items by chapter, Bloom level and type.

    content/README.md holds them between its coverage markers: --update rewrites them there,
    --check fails when they are out of date."""
    from engine.content import ContentError
    from engine.content.coverage import bank_coverage, replace_between_markers, to_markdown

    try:
        generated = to_markdown(bank_coverage(path))
    except ContentError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    target = update or check
    if target is None:
        typer.echo(generated, nl=False)
        return
    try:
        document = target.read_text(encoding="utf-8")
        refreshed = replace_between_markers(document, generated)
    except (OSError, ValueError) as exc:
        typer.echo(f"{target}: {exc}", err=True)
        raise typer.Exit(1) from None
    if refreshed == document:
        typer.echo(f"{target}: the coverage tables are up to date")
    elif update is not None:
        target.write_text(refreshed, encoding="utf-8")
        typer.echo(f"{target}: the coverage tables are updated")
    else:
        typer.echo(f"{target}: the coverage tables are out of date; run "
                   f"`assay content coverage {path} --update {target}`", err=True)
        raise typer.Exit(1)


@app.command("preview")
def preview(
    seed: Annotated[int, typer.Option(min=0, help="The variant's seed.")] = 0,
    path: Annotated[Path, typer.Option(help="The bank folder.")] = DEFAULT_CONTENT,
) -> None:
    """The demo: a variant of the course's seed item, its key and its feedback."""
    content_preview(SEED_ITEM, seed=seed, path=path, as_json=False)


def _database() -> Any:
    from assessments.config import get_settings
    from assessments.db import Database

    return Database(get_settings().resolved_database_url)


def _upgrade() -> None:
    from assessments.config import get_settings
    from assessments.migrations import upgrade

    upgrade(get_settings().resolved_database_url)


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    from assessments.config import get_settings
    from assessments.migrations import upgrade

    upgrade(get_settings().resolved_database_url, revision)
    typer.echo(f"database at {revision}")


@db_app.command("downgrade")
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Undo migrations down to REVISION ("base" empties the database)."""
    from assessments.config import get_settings
    from assessments.migrations import downgrade

    downgrade(get_settings().resolved_database_url, revision)
    typer.echo(f"database at {revision}")


DatabaseUrl = Annotated[str | None, typer.Option("--database-url", help="Default: the configured database.")]


class _TableBars:
    """A rich progress bar per table, for assessments.backup."""

    def __init__(self, bars: Any) -> None:
        self.bars = bars
        self.task: Any = None

    def table(self, name: str, rows: int) -> None:
        self.task = self.bars.add_task(name, total=rows)

    def advance(self, rows: int) -> None:
        self.bars.advance(self.task, rows)


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"


def _backup_database(url: str | None) -> Any:
    from assessments.config import get_settings
    from assessments.db import Database

    return Database(url or get_settings().resolved_database_url)


@db_app.command("dump")
def db_dump(
    file: Annotated[Path, typer.Argument(help="The archive to write (a zip).")],
    database_url: DatabaseUrl = None,
    replace: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
) -> None:
    """Write the whole database to a portable archive, from one consistent snapshot."""
    from rich.progress import Progress

    from assessments.backup import BackupError, dump

    database = _backup_database(database_url)
    try:
        with Progress(transient=True) as bars:
            manifest = dump(database, file, progress=_TableBars(bars), replace=replace)
    except BackupError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(f"wrote {file}: {_rows(manifest.total_rows)} in {len(manifest.tables)} tables at revision "
               f"{manifest.alembic_revision} ({file.stat().st_size} bytes)")


@db_app.command("restore")
def db_restore(
    file: Annotated[Path, typer.Argument(help="An archive written by `assay db dump`.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Restore an archive into an empty database (migrated to the archive's revision, or not at all)."""
    from rich.progress import Progress

    from assessments.backup import BackupError, restore

    database = _backup_database(database_url)
    try:
        with Progress(transient=True) as bars:
            manifest = restore(database, file, progress=_TableBars(bars))
    except BackupError as exc:
        typer.echo(f"error: {exc.message} (nothing was restored)", err=True)
        raise typer.Exit(1) from None
    finally:
        database.dispose()
    typer.echo(f"restored {_rows(manifest.total_rows)} in {len(manifest.tables)} tables from {file} "
               f"(taken {manifest.created_at:%Y-%m-%d %H:%M} UTC at revision {manifest.alembic_revision}, "
               f"Assay {manifest.assay_version})")


@user_app.command("create")
def user_create(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option(help="admin, instructor or student")] = "student",
    display_name: Annotated[str | None, typer.Option()] = None,
    password: Annotated[str | None, typer.Option(help="Prompted for when not given.")] = None,
) -> None:
    """Create an account."""
    from pydantic import ValidationError

    from assessments.auth.schemas import UserCreate
    from assessments.auth.service import create_user
    from assessments.db import session_scope
    from assessments.errors import DomainError

    if password is None:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    try:
        data = UserCreate(username=username, display_name=display_name or username,
                          password=password, role=role)
    except ValidationError as exc:
        typer.echo(f"error: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    _upgrade()
    try:
        with session_scope(_database()) as session:
            user = create_user(session, data)
            typer.echo(f"created {user.role.value} {user.username} (id {user.id})")
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@user_app.command("deactivate")
def user_deactivate(username: Annotated[str, typer.Argument()]) -> None:
    """Stop an account signing in: every session and access token of theirs ends, and their
    personal API tokens are revoked."""
    _set_active(username, active=False)


@user_app.command("activate")
def user_activate(username: Annotated[str, typer.Argument()]) -> None:
    """Let a deactivated account sign in again (with a new sign-in; nothing old comes back)."""
    _set_active(username, active=True)


def _set_active(username: str, *, active: bool) -> None:
    from assessments.auth.service import set_active, user_by_username
    from assessments.db import session_scope
    from assessments.errors import DomainError
    from assessments.models import utcnow

    _upgrade()
    try:
        with session_scope(_database()) as session:
            user = set_active(session, user_by_username(session, username), active, utcnow())
            typer.echo(f"{user.username} is {'active' if active else 'deactivated'}")
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@content_app.command("load")
def content_load(
    path: Annotated[Path, typer.Argument(help="The bank folder.")] = DEFAULT_CONTENT,
    theirs: Annotated[bool, typer.Option("--theirs", help=(
        "Where a file would change an item last changed in the browser, by the API or an import: the file "
        "wins."))] = False,
    ours: Annotated[bool, typer.Option("--ours", help=(
        "Where a file would change an item last changed in the browser, by the API or an import: the "
        "database wins (those files are skipped)."))] = False,
) -> None:
    """Load the bank into the database: all of it or (on any problem) none of it.

    An item changed outside the files since (in the browser, by the API or an import) that a file
    would change is a conflict: nothing is loaded, and each is reported, unless --theirs or --ours
    says which side wins."""
    from rich.progress import Progress

    from assessments.bank.content_sync import Resolve, load_content
    from assessments.db import session_scope
    from assessments.errors import DomainError
    from assessments.models import utcnow

    if theirs and ours:
        typer.echo("error: --theirs or --ours, not both", err=True)
        raise typer.Exit(2)
    resolve = Resolve.THEIRS if theirs else Resolve.OURS if ours else Resolve.REFUSE
    _upgrade()
    try:
        with Progress(transient=True) as bar, session_scope(_database()) as session:
            task = bar.add_task("loading items", total=None)
            result = load_content(session, path, actor_id=None, now=utcnow(),
                                  progress=lambda _key: bar.advance(task), resolve=resolve)
    except DomainError as exc:
        for problem in exc.details or []:
            typer.echo(f"{problem['file']}:{problem['line']}: {problem['message']}", err=True)
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{len(result.items)} items: {result.created} new, {result.new_versions} new versions, "
               f"{result.unchanged} unchanged")


def _export_folder(session: Any, folder: Path, tags: list[str], bank: str | None) -> None:
    from assessments.bank import repository
    from assessments.bank.content_sync import export_folder
    from assessments.config import get_settings
    from assessments.models import Bank

    if folder.exists() and any(folder.iterdir()):
        typer.echo(f"error: {folder} is not empty: export into a new folder (nothing is overwritten)", err=True)
        raise typer.Exit(1)
    condition = None
    if bank is not None:
        found = repository.bank_for_slug(session, bank)
        if found is None:
            typer.echo(f"error: no bank {bank!r} (banks: {', '.join(repository.bank_slugs_all(session))})", err=True)
            raise typer.Exit(1)
        condition = Bank.id == found.id
    rows = session.execute(repository.current_versions_query(tags, None, None, condition)).all()
    folder.mkdir(parents=True, exist_ok=True)
    exported = export_folder(session, folder, rows, get_settings().content_dir / "bank.yaml")
    typer.echo(f"wrote {len(exported.files)} items and bank.yaml to {folder}")


@content_app.command("import")
def content_import(
    file: Annotated[Path, typer.Argument(help="A YAML, QTI (item or zip package), GIFT or Moodle XML file.")],
    format: Annotated[str, typer.Option(help="yaml, qti3, qti2, gift or moodlexml")] = "yaml",  # noqa: A002
    bank: Annotated[str, typer.Option(help="The bank new items go into: a bank's slug, or course:<course> "
                                           "for a course's own.")] = "library",
) -> None:
    """Import items into one of the database's banks: all of them or, on any problem, none."""
    from assessments.bank import exchange, repository
    from assessments.db import session_scope
    from assessments.errors import DomainError, Invalid
    from assessments.models import utcnow

    _upgrade()
    try:
        with session_scope(_database()) as session:
            target = repository.bank_for_slug(session, bank)
            if target is None:
                typer.echo(f"error: no bank {bank!r} (banks: {', '.join(repository.bank_slugs_all(session))})",
                           err=True)
                raise typer.Exit(1)
            result = exchange.import_file(session, file.read_bytes(), format=format, name=file.name,
                                         actor_id=None, now=utcnow(), bank=target)
    except Invalid as exc:
        for problem in exc.details or []:
            typer.echo(f"{problem.get('file', file.name)}:{problem.get('line', 0)}: {problem['message']}", err=True)
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    for note in result.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"{len(result.items)} items: {result.created} new, {result.new_versions} new versions, "
               f"{result.unchanged} unchanged")


@content_app.command("export")
def content_export(
    out: Annotated[Path, typer.Argument(help="The file to write; for YAML, a folder (one file per item, and a "
                                             "bank.yaml) unless it ends in .yaml or .yml.")],
    format: Annotated[str, typer.Option(help="yaml, qti3, qti2, gift or moodlexml")] = "yaml",  # noqa: A002
    tag: Annotated[list[str] | None, typer.Option(help="facet:value (repeatable)")] = None,
    bank: Annotated[str | None, typer.Option(help="Only this bank's items (its slug).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="The variant computed items leave as.")] = 0,
) -> None:
    """Export the database's bank (or the items with every --tag) to a file, with a report.

    A YAML folder is the bank as files: `assay content load` reads it back without a new version
    and `assay content check` passes on it, so a course can keep its bank in git."""
    from assessments.bank import exchange
    from assessments.db import session_scope
    from assessments.interop.formats import FORMATS, KNOWN

    _upgrade()
    with session_scope(_database()) as session:
        if format == "yaml" and out.suffix.lower() not in {".yaml", ".yml"}:
            _export_folder(session, out, tag or [], bank)
            return
        if format == "yaml":
            out.write_text(exchange.export_yaml(session, tag or [], None))
            typer.echo(f"wrote {out}")
            return
        if format not in FORMATS:
            typer.echo(f"error: unknown format {format!r} (known: {KNOWN})", err=True)
            raise typer.Exit(2)
        exported = FORMATS[format].export_items(exchange.export_entries(session, tag or [], None, seed),
                                                title="Assay export")
    out.write_bytes(exported.content)
    for note in exported.notes:
        typer.echo(f"note: {note}")
    typer.echo(f"wrote {out} ({len(exported.content)} bytes)")


@attempts_app.command("sweep")
def attempts_sweep(
    now: Annotated[str | None, typer.Option(
        help="Sweep as of this time (ISO 8601; UTC unless it has an offset) instead of the clock's: "
             "tests use it to step past a time limit.")] = None,
) -> None:
    """Finish and grade every attempt whose time is up."""
    from datetime import UTC, datetime

    from assessments.attempts.service import sweep
    from assessments.config import get_settings
    from assessments.db import session_scope
    from assessments.models import utcnow

    at = utcnow()
    if now is not None:
        try:
            at = datetime.fromisoformat(now)
        except ValueError:
            typer.echo(f"error: --now: {now!r} is not an ISO 8601 time (e.g. 2026-11-02T09:30:00+00:00)", err=True)
            raise typer.Exit(2) from None
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
    _upgrade()
    database = _database()
    try:
        with session_scope(database) as session:
            closed = sweep(session, at, get_settings().grace_seconds)
    finally:
        database.dispose()
    typer.echo(f"closed {len(closed)} overdue attempt(s)")


@practice_app.command("calibrate")
def practice_calibrate() -> None:
    """Fit the items' 2PL difficulty and discrimination from students' answers, for practice to
    choose by (items with fewer than 30 answers keep their Bloom level's prior)."""
    from assessments.db import session_scope
    from assessments.models import utcnow
    from assessments.practice.calibration import MIN_RESPONSES, calibrate

    _upgrade()
    database = _database()
    try:
        with session_scope(database) as session:
            report = calibrate(session, utcnow())
    finally:
        database.dispose()
    typer.echo(f"calibrated {report.calibrated} item(s) from {report.answers} answer(s) by {report.students} "
               f"student(s); {report.too_few} item(s) with fewer than {MIN_RESPONSES} answers (or never both "
               f"right and wrong) and {report.misfit} whose fit was not sensible keep their Bloom prior")


@app.command("worker")
def worker(once: Annotated[bool, typer.Option(help="Do the jobs that are due, then stop.")] = False) -> None:
    """Work the background job queue (statistics of large quizzes, grade passback)."""
    import signal
    import threading

    import assessments.attempts.prepared
    import assessments.lti.ags
    import assessments.lti.nrps
    import assessments.practice.calibration
    import assessments.reports.service  # noqa: F401 - these register their job handlers
    from assessments.jobs import run_until_idle, work

    _upgrade()
    database = _database()
    if once:
        typer.echo(f"did {run_until_idle(database)} job(s)")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    typer.echo("working the job queue (Ctrl-C to stop)")
    try:
        work(database, stop)
    except KeyboardInterrupt:
        stop.set()


@app.command("serve")
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64)] = 1,
    demo: Annotated[bool, typer.Option(help="Load content/ and make a demo course, accounts and quiz.")] = False,
    forwarded_allow_ips: Annotated[str | None, typer.Option(
        help="The reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: comma-separated "
             "addresses or networks, or '*' (default: ASSAY_FORWARDED_ALLOW_IPS; unset, none: the client's "
             "address is the connection's).")] = None,
) -> None:
    """Apply migrations, then serve the web pages and the REST API."""
    import uvicorn

    from assessments.config import get_settings, proxy_addresses

    settings = get_settings()
    try:
        proxies = proxy_addresses(settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips)
    except ValueError as exc:
        typer.echo(f"error: --forwarded-allow-ips: {exc}", err=True)
        raise typer.Exit(2) from None
    _upgrade()
    if demo:
        _demo(settings)
    typer.echo(f"Assay on http://{host}:{port}  (API docs: http://{host}:{port}/docs; "
               f"database: {settings.resolved_database_url.split('@')[-1]})")
    typer.echo("X-Forwarded-For and X-Forwarded-Proto: believed from " + ", ".join(proxies) if proxies else
               "X-Forwarded-For and X-Forwarded-Proto: ignored (no proxy configured: --forwarded-allow-ips)")
    uvicorn.run("assessments.app:create_served_app", factory=True, host=host, port=port,
                workers=workers, log_level="info", timeout_keep_alive=settings.keep_alive_seconds,
                timeout_graceful_shutdown=settings.graceful_shutdown_seconds, **_proxy_options(proxies))


def _proxy_options(proxies: list[str]) -> dict[str, Any]:
    """uvicorn's options for these trusted proxies: none, and it reads no forwarding header at all
    (its own default believes them from 127.0.0.1, or from its FORWARDED_ALLOW_IPS variable)."""
    if not proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": proxies}


def _demo(settings: Any) -> None:
    from assessments.bank.content_sync import load_content
    from assessments.db import session_scope
    from assessments.demo import set_up_demo
    from assessments.models import utcnow

    with session_scope(_database()) as session:
        result = load_content(session, settings.content_dir, actor_id=None, now=utcnow())
        accounts, quiz_id = set_up_demo(session, utcnow())
    typer.echo(f"demo: {len(result.items)} items in the bank; quiz {quiz_id} in course foundations-of-llms")
    for account in accounts:
        typer.echo(f"demo: {account.role.value:<10} username {account.username:<10} password {account.password}")


def main() -> None:  # pragma: no cover - the console script
    app()


# --- LTI 1.3 ------------------------------------------------------------------------------------

lti_app = typer.Typer(help="LTI 1.3: platform registrations, signing keys, rosters.", no_args_is_help=True)
app.add_typer(lti_app, name="lti")


@lti_app.command("register")
def lti_register(
    issuer: Annotated[str, typer.Option(help="The platform's issuer (iss).")],
    client_id: Annotated[str, typer.Option(help="The client_id the platform gave Assay.")],
    deployment_id: Annotated[list[str], typer.Option(help="A deployment id (repeat for several).")],
    auth_login_url: Annotated[str, typer.Option(help="The platform's OIDC authorisation endpoint.")],
    auth_token_url: Annotated[str, typer.Option(help="The platform's OAuth 2 token endpoint.")],
    jwks_url: Annotated[str, typer.Option(help="The platform's public key set.")],
) -> None:
    """Register a platform (an LMS) that may launch Assay."""
    from pydantic import ValidationError

    from assessments.db import session_scope
    from assessments.errors import DomainError
    from assessments.lti.schemas import RegistrationCreate
    from assessments.lti.service import register
    from assessments.models import utcnow

    try:
        body = RegistrationCreate(issuer=issuer, client_id=client_id, deployment_ids=deployment_id,
                                  auth_login_url=auth_login_url, auth_token_url=auth_token_url,
                                  jwks_url=jwks_url)
    except ValidationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    _upgrade()
    try:
        with session_scope(_database()) as session:
            platform = register(session, body, utcnow())
            typer.echo(f"registered {platform.issuer} (client_id {platform.client_id}, id {platform.id})")
    except DomainError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None


@lti_app.command("rotate-key")
def lti_rotate_key(
    grace_days: Annotated[float, typer.Option(min=0, help="How long the old key stays published.")] = 7,
) -> None:
    """Make a new signing key; the old one stays in /lti/jwks for the grace period."""
    from datetime import timedelta

    from assessments.db import session_scope
    from assessments.lti.keys import rotate
    from assessments.models import utcnow

    _upgrade()
    with session_scope(_database()) as session:
        key = rotate(session, utcnow(), timedelta(days=grace_days))
        typer.echo(f"signing with key {key.kid}; older keys stay published for {grace_days:g} day(s)")


@lti_app.command("sync-roster")
def lti_sync_roster() -> None:
    """Read every LTI course's roster from its platform (NRPS, all pages) and enrol its members."""
    from sqlalchemy import select

    from assessments.db import session_scope
    from assessments.lti.nrps import sync_roster
    from assessments.models import LtiContext, utcnow

    _upgrade()
    with session_scope(_database()) as session:
        for context in session.scalars(select(LtiContext).where(LtiContext.memberships_url.is_not(None))):
            done = sync_roster(session, context, utcnow())
            typer.echo(f"course {context.course_id}: {done.active} active member(s), {done.removed} removed, "
                       f"{done.pages} page(s)")


@lti_app.command("sync-scores")
def lti_sync_scores() -> None:
    """Queue score passback for every LTI student whose grade the platform has not yet got."""
    from assessments.db import session_scope
    from assessments.lti.ags import poll_scores
    from assessments.models import utcnow

    _upgrade()
    with session_scope(_database()) as session:
        typer.echo(f"queued {poll_scores(session, utcnow())} score(s); `assay worker` sends them")
