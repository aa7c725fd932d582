"""``fortytwo apply``: make the database match a declarative plan, in one transaction.

Everything the file names is created or updated; nothing else is touched, except that the
out-of-office ranges and meeting limits of the users the file defines are exactly the ones
it lists. Only real differences are written, so applying the same file twice changes
nothing — no timestamps move and no ``event_type.updated`` events are recorded. Any error
(including conflicts with existing rows) rolls the whole file back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fortytwo.apply.plan import EventTypeSpec, Issue, Plan, PlanError, issue_at
from fortytwo.db.database import Conn, Database
from fortytwo.store import accounts, scheduling
from fortytwo.store import events as event_store
from fortytwo.store.scheduling import dumps, encode_ranges


@dataclass
class ApplyReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


@dataclass
class _Context:
    conn: Conn
    plan: Plan
    text: str
    now: datetime
    org_id: str = ""
    users: dict[str, str] = field(default_factory=dict)  # username -> id
    teams: dict[str, str] = field(default_factory=dict)  # slug -> id
    schedules: dict[tuple[str, str], str] = field(default_factory=dict)  # (username, name) -> id
    report: ApplyReport = field(default_factory=ApplyReport)
    changed_event_types: list[str] = field(default_factory=list)

    def fail(self, path: tuple[str | int, ...], message: str) -> PlanError:
        return PlanError([issue_at(self.text, path, message)])


async def apply_plan(
    db: Database, plan: Plan, text: str, now: datetime, booking_base_url: str
) -> ApplyReport:
    async with db.write() as conn:
        ctx = _Context(conn, plan, text, now)
        await _organization(ctx)
        await _users(ctx)
        await _teams(ctx)
        await _schedules(ctx)
        await _out_of_office(ctx)
        await _user_limits(ctx)
        for index, spec in enumerate(plan.event_types):
            await _event_type(ctx, index, spec)
        await _emit_updates(ctx, booking_base_url)
        return ctx.report


async def _organization(ctx: _Context) -> None:
    name = ctx.plan.organization.name
    org = await accounts.find_org(ctx.conn, name)
    if org is None:
        org = await accounts.create_org(ctx.conn, name, ctx.now)
        ctx.report.created.append(f"organization {name}")
    ctx.org_id = org.id


async def _users(ctx: _Context) -> None:
    for index, spec in enumerate(ctx.plan.users):
        path = ("users", index)
        existing = await accounts.find_user(ctx.conn, spec.username, include_removed=True)
        if existing is not None and existing.organization_id != ctx.org_id:
            raise ctx.fail((*path, "username"), f"username {spec.username!r} belongs to another organization; pick another username")
        if existing is not None and existing.removed_at is not None:
            raise ctx.fail((*path, "username"), f"user {spec.username!r} was removed; usernames of removed users cannot be reused")
        wanted = {
            "email": spec.email,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "timezone": spec.timezone,
            "locale": spec.locale,
            "role": spec.role,
        }
        if existing is None:
            if await accounts.email_taken(ctx.conn, ctx.org_id, spec.email):
                raise ctx.fail((*path, "email"), f"{spec.email} already belongs to another user of this organization")
            user = await accounts.create_user(
                ctx.conn, organization_id=ctx.org_id, username=spec.username, now=ctx.now, **wanted
            )
            ctx.users[spec.username] = user.id
            ctx.report.created.append(f"user {spec.username}")
            continue
        ctx.users[spec.username] = existing.id
        current = {name: getattr(existing, name) for name in wanted}
        changes = {k: v for k, v in wanted.items() if current[k] != v}
        if "email" in changes and changes["email"].lower() != existing.email.lower():
            if await accounts.email_taken(ctx.conn, ctx.org_id, spec.email):
                raise ctx.fail((*path, "email"), f"{spec.email} already belongs to another user of this organization")
        if changes:
            await scheduling.update_user(ctx.conn, existing.id, changes, ctx.now)
            ctx.report.updated.append(f"user {spec.username}")


async def _teams(ctx: _Context) -> None:
    for spec in ctx.plan.teams:
        members = [ctx.users[m] for m in spec.members]
        row = await scheduling.get_team(ctx.conn, ctx.org_id, spec.slug)
        if row is None:
            team_id = await scheduling.insert_team(ctx.conn, ctx.org_id, spec.slug, spec.name, ctx.now)
            await scheduling.set_team_members(ctx.conn, team_id, members)
            ctx.report.created.append(f"team {spec.slug}")
        else:
            team_id = row["id"]
            changed = False
            if row["name"] != spec.name:
                await scheduling.update_team_name(ctx.conn, team_id, spec.name, ctx.now)
                changed = True
            if await scheduling.team_member_ids(ctx.conn, team_id) != members:
                await scheduling.set_team_members(ctx.conn, team_id, members)
                changed = True
            if changed:
                ctx.report.updated.append(f"team {spec.slug}")
        ctx.teams[spec.slug] = team_id


async def _schedules(ctx: _Context) -> None:
    for spec in ctx.plan.schedules:
        user_id = ctx.users[spec.user]
        weekly = dumps([encode_ranges(day) for day in spec.weekly])
        overrides = dumps({o.date.isoformat(): encode_ranges(o.ranges) for o in spec.overrides})
        row = await scheduling.get_schedule(ctx.conn, user_id, spec.name)
        label = f"schedule {spec.user}/{spec.name}"
        if row is None:
            schedule_id = await scheduling.insert_schedule(
                ctx.conn, organization_id=ctx.org_id, user_id=user_id, name=spec.name,
                timezone=spec.timezone, weekly=weekly, overrides=overrides, now=ctx.now,
            )
            ctx.report.created.append(label)
            is_default = False
        else:
            schedule_id = row["id"]
            is_default = bool(row["is_default"])
            if (row["timezone"], row["weekly"], row["overrides"]) != (spec.timezone, weekly, overrides):
                await scheduling.update_schedule(
                    ctx.conn, schedule_id, timezone=spec.timezone, weekly=weekly,
                    overrides=overrides, now=ctx.now,
                )
                ctx.report.updated.append(label)
        if spec.default is True and not is_default:
            await scheduling.make_default(ctx.conn, user_id, schedule_id)
        elif spec.default is None and not is_default:
            if await scheduling.default_schedule_id(ctx.conn, user_id) is None:
                await scheduling.make_default(ctx.conn, user_id, schedule_id)
        ctx.schedules[(spec.user, spec.name)] = schedule_id


async def _out_of_office(ctx: _Context) -> None:
    wanted: dict[str, list[tuple[str, str, str | None]]] = {u: [] for u in ctx.users}
    for spec in ctx.plan.out_of_office:
        wanted[spec.user].append((spec.start.isoformat(), spec.end.isoformat(), spec.reason))
    for username, entries in wanted.items():
        entries.sort()
        user_id = ctx.users[username]
        if await scheduling.out_of_office(ctx.conn, user_id) != entries:
            await scheduling.replace_out_of_office(ctx.conn, ctx.org_id, user_id, entries, ctx.now)
            ctx.report.updated.append(f"out-of-office of {username}")


async def _user_limits(ctx: _Context) -> None:
    wanted: dict[str, tuple[int | None, int | None, int | None]] = {
        u: (None, None, None) for u in ctx.users
    }
    for spec in ctx.plan.user_limits:
        wanted[spec.user] = (
            spec.max_bookings_per_day, spec.max_bookings_per_week, spec.max_bookings_per_month
        )
    for username, limits in wanted.items():
        user_id = ctx.users[username]
        if await scheduling.user_limits(ctx.conn, user_id) != limits:
            await scheduling.set_user_limits(ctx.conn, user_id, limits)
            ctx.report.updated.append(f"meeting limits of {username}")


def _columns(spec: EventTypeSpec, schedule_id: str | None) -> dict[str, Any]:
    locations = [{"type": loc.type, "label": loc.label, "value": loc.value} for loc in spec.locations]
    questions = []
    for q in spec.questions:
        item: dict[str, Any] = {"id": q.id, "key": q.key, "label": q.label, "type": q.type, "required": q.required}
        if q.options is not None:
            item["options"] = list(q.options)
        questions.append(item)
    return {
        "slug": spec.slug,
        "title": spec.title,
        "description": spec.description,
        "duration_minutes": spec.duration_minutes,
        "active": int(spec.active),
        "scheduling_type": spec.scheduling_type,
        "color": spec.color,
        "buffer_before_minutes": spec.buffer_before_minutes,
        "buffer_after_minutes": spec.buffer_after_minutes,
        "minimum_notice_minutes": spec.minimum_notice_minutes,
        "future_limit_days": spec.future_limit_days,
        "slot_interval_minutes": spec.slot_interval_minutes,
        "max_bookings_per_day": spec.max_bookings_per_day,
        "max_bookings_per_week": spec.max_bookings_per_week,
        "max_bookings_per_month": spec.max_bookings_per_month,
        "seats_per_slot": spec.seats_per_slot,
        "requires_confirmation": int(spec.requires_confirmation),
        "allow_reschedule": int(spec.allow_reschedule),
        "allow_cancel": int(spec.allow_cancel),
        "locations": json.dumps(locations, separators=(",", ":")),
        "questions": json.dumps(questions, separators=(",", ":")),
        "schedule_id": schedule_id,
    }


async def _event_type(ctx: _Context, index: int, spec: EventTypeSpec) -> None:
    owner_id = ctx.users[spec.owner] if spec.owner else None
    team_id = ctx.teams[spec.team] if spec.team else None
    schedule_id = None
    if spec.schedule:
        schedule_id = ctx.schedules[(spec.schedule_user or spec.owner or "", spec.schedule)]
    columns = _columns(spec, schedule_id)
    hosts = [ctx.users[h] for h in spec.hosts]
    label = f"event type {spec.owner or 'team/' + (spec.team or '')}/{spec.slug}"
    row = await scheduling.find_event_type_row(
        ctx.conn, owner_user_id=owner_id, team_id=team_id, slug=spec.slug
    )
    if row is None:
        event_type_id = await scheduling.insert_event_type(
            ctx.conn, organization_id=ctx.org_id, owner_user_id=owner_id, team_id=team_id,
            columns=columns, now=ctx.now,
        )
        await scheduling.set_event_type_hosts(ctx.conn, event_type_id, hosts)
        ctx.report.created.append(label)
        return
    event_type_id = row["id"]
    changes = {k: v for k, v in columns.items() if row[k] != v}
    hosts_changed = await scheduling.event_type_host_ids(ctx.conn, event_type_id) != hosts
    if changes or hosts_changed:
        await scheduling.update_event_type(ctx.conn, event_type_id, changes, ctx.now)
        if hosts_changed:
            await scheduling.set_event_type_hosts(ctx.conn, event_type_id, hosts)
        ctx.report.updated.append(label)
        ctx.changed_event_types.append(event_type_id)


async def _emit_updates(ctx: _Context, booking_base_url: str) -> None:
    """``event_type.updated`` for every event type whose stored form changed."""
    if not ctx.changed_event_types:
        return
    from fortytwo.services import event_types as event_type_service
    from fortytwo.store import event_types as event_type_store

    for event_type_id in ctx.changed_event_types:
        row = await event_type_store.get_event_type(ctx.conn, ctx.org_id, event_type_id)
        body = event_type_service.serialize(row, booking_base_url, detail=True)
        await event_store.append_event(
            ctx.conn, ctx.org_id, "event_type.updated", {"event_type": body}, ctx.now
        )


__all__ = ["ApplyReport", "Issue", "PlanError", "apply_plan"]
