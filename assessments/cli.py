"""The ``assay`` command line: content checking and previews (the service's commands join later).

Every command exits non-zero on a problem and prints problems as ``file:line: message``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Assay: quizzes whose answers are computed, not typed.", no_args_is_help=True)
content_app = typer.Typer(help="Check and preview the item bank.", no_args_is_help=True)
app.add_typer(content_app, name="content")

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
    path: Annotated[Path, typer.Argument(help="A bank folder or one item file.")] = DEFAULT_CONTENT,
    variants: Annotated[int, typer.Option(min=1, max=100_000, help="Variants per computed item.")] = 200,
) -> None:
    """Validate every item file and check many variants of every computed item."""
    from engine.content.checker import check

    report = check(path, variants=variants)
    for problem in report.problems:
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


@app.command("preview")
def preview(
    seed: Annotated[int, typer.Option(min=0, help="The variant's seed.")] = 0,
    path: Annotated[Path, typer.Option(help="The bank folder.")] = DEFAULT_CONTENT,
) -> None:
    """The demo: a variant of the course's seed item, its key and its feedback."""
    content_preview(SEED_ITEM, seed=seed, path=path, as_json=False)


def main() -> None:  # pragma: no cover - the console script
    app()
