"""`apply` plans that several test modules share."""

from __future__ import annotations

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def always_open_plan(*event_types: str, user: str = "ada", extra_user_lines: str = "") -> str:
    """One owner in UTC whose default schedule is open around the clock, every day, and the
    given ``[[event_types]]`` blocks (each a TOML fragment without its header)."""
    weekly = "".join(f'{day} = ["00:00-24:00"]\n' for day in _DAYS)
    blocks = "".join(f"\n[[event_types]]\nowner = \"{user}\"\n{body.strip()}\n" for body in event_types)
    return f"""
[organization]
name = "Acme"

[[users]]
username = "{user}"
email = "{user}@example.com"
timezone = "UTC"
role = "owner"
{extra_user_lines}
[[schedules]]
name = "Always"
user = "{user}"
timezone = "UTC"
default = true
[schedules.weekly]
{weekly}{blocks}"""


# A 15-minute event type bookable a year ahead, on the always-open schedule.
QUICK_PLAN = always_open_plan(
    'slug = "quick"\ntitle = "Quick call"\nduration_minutes = 15\nfuture_limit_days = 365'
)
