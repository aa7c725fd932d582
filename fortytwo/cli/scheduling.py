"""apply and event-types."""

from __future__ import annotations

from pathlib import Path

import click

from fortytwo.apply.plan import PlanError, parse_plan
from fortytwo.cli.context import CliState, emit_json, pass_state, with_db
from fortytwo.services import apply as apply_service
from fortytwo.services import event_type_admin
from fortytwo.timefmt import system_clock


@click.command("apply")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print what changed as JSON.")
@pass_state
def apply_cmd(state: CliState, file: Path, as_json: bool) -> None:
    """Create or update organization, users, teams, schedules and event types from FILE."""
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise click.ClickException(f"{file} is not UTF-8 text") from None
    try:
        plan = parse_plan(text)
    except PlanError as exc:
        _fail(file, exc)
    settings = state.settings()

    async def go(db):  # type: ignore[no-untyped-def]
        return await apply_service.apply_plan(
            db, plan, text, system_clock(), settings.effective_booking_base_url
        )

    try:
        report = with_db(settings, go)
    except click.ClickException as exc:
        raise exc
    if as_json:
        emit_json({"created": report.created, "updated": report.updated})
        return
    if not report.changed:
        click.echo(f"{file}: nothing to change")
        return
    for item in report.created:
        click.echo(f"created {item}")
    for item in report.updated:
        click.echo(f"updated {item}")


def _fail(file: Path, exc: PlanError) -> None:
    lines = [f"{file}:{issue}" if issue.line else f"{file}: {issue}" for issue in exc.issues]
    click.echo("\n".join(f"Error: {line}" for line in lines), err=True)
    raise SystemExit(1)


@click.group("event-types")
def event_types() -> None:
    """List, enable and disable event types."""


@event_types.command("list")
@click.option("--org", help="Only this organization (name or id).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def event_types_list(state: CliState, org: str | None, as_json: bool) -> None:
    """List event types."""
    rows = with_db(state.settings(), lambda db: event_type_admin.list_all(db, org))
    if as_json:
        emit_json(rows)
        return
    for row in rows:
        state_word = "active" if row["active"] else "inactive"
        click.echo(f"{row['id']}  {row['path']:<32} {state_word:<8} {row['title']}")


def _set_active(state: CliState, event_type: str, active: bool) -> None:
    settings = state.settings()
    row = with_db(
        settings,
        lambda db: event_type_admin.set_active(
            db, event_type, active, system_clock(), settings.effective_booking_base_url
        ),
    )
    click.echo(f"{'enabled' if active else 'disabled'} {row['path']} ({row['id']})")


@event_types.command("enable")
@click.argument("event_type")
@pass_state
def event_types_enable(state: CliState, event_type: str) -> None:
    """Let EVENT_TYPE (id or username/slug) take bookings."""
    _set_active(state, event_type, True)


@event_types.command("disable")
@click.argument("event_type")
@pass_state
def event_types_disable(state: CliState, event_type: str) -> None:
    """Stop EVENT_TYPE (id or username/slug) from taking bookings."""
    _set_active(state, event_type, False)
