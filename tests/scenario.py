"""A ready organization for API tests: applied from tests/data/demo.toml."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fortytwo import keys
from fortytwo.apply.plan import parse_plan
from fortytwo.services.apply import apply_plan
from fortytwo.store import event_types as event_type_store
from tests.conftest import Account, make_account

DEMO = Path(__file__).parent / "data" / "demo.toml"


@dataclass
class Scenario:
    ada: Account
    intro: str
    demo: str
    workshop: str
    bob_id: str


async def apply_text(app, text: str) -> None:
    await apply_plan(
        app[keys.DATABASE], parse_plan(text), text, app[keys.CLOCK](),
        app[keys.SETTINGS].effective_booking_base_url,
    )


async def make_scenario(app, text: str | None = None) -> Scenario:
    ada = await make_account(app)
    await apply_text(app, text or DEMO.read_text())
    conn = app[keys.DATABASE].reader
    rows = {r.slug: r for r in await event_type_store.find_by_slug(conn, ada.org_id, "intro-call")}
    intro = rows["intro-call"].id
    demo = (await event_type_store.find_by_slug(conn, ada.org_id, "demo"))[0]
    workshop = (await event_type_store.find_by_slug(conn, ada.org_id, "workshop"))[0].id
    bob = next(h.user_id for h in demo.hosts if h.username == "bob")
    return Scenario(ada, intro, demo.id, workshop, bob)
