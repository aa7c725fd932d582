"""Parsing and validation of ``fortytwo apply`` files (fortytwo.apply.plan)."""

from __future__ import annotations

from datetime import date
from textwrap import dedent

import pytest

from fortytwo.apply.plan import (
    EventTypeSpec,
    Issue,
    LocationSpec,
    OrgSpec,
    OutOfOfficeSpec,
    OverrideSpec,
    Plan,
    PlanError,
    QuestionSpec,
    ScheduleSpec,
    TeamSpec,
    UserLimitSpec,
    UserSpec,
    parse_plan,
)
from fortytwo.scheduling.model import Schedule

HEAD = dedent(
    """\
    [organization]
    name = "Acme"

    [[users]]
    username = "ada"
    email = "ada@example.com"

    [[users]]
    username = "bob"
    email = "bob@example.com"

    [[users]]
    username = "cy"
    email = "cy@example.com"
    """
)  # 14 lines


def issues_of(text: str) -> list[Issue]:
    with pytest.raises(PlanError) as info:
        parse_plan(text)
    return info.value.issues


def issue_at(issues: list[Issue], field: str) -> Issue:
    found = [i for i in issues if i.field == field]
    assert found, f"no issue for {field}; got:\n" + "\n".join(map(str, issues))
    return found[0]


def only_issue(text: str) -> Issue:
    issues = issues_of(text)
    assert len(issues) == 1, "\n".join(map(str, issues))
    return issues[0]


# --------------------------------------------------------------------------------------------
# A complete, valid file

FULL = dedent(
    """\
    [organization]
    name = "Acme"

    [[users]]
    username = "ada"
    email = "ada@example.com"
    first_name = "Ada"
    last_name = "Lovelace"
    timezone = "Europe/London"
    locale = "en"
    role = "owner"

    [[users]]
    username = "bob"
    email = "bob@example.com"

    [[teams]]
    slug = "sales"
    name = "Sales"
    members = ["ada", "bob"]

    [[schedules]]
    name = "Ada hours"
    user = "ada"
    timezone = "Europe/London"
    default = true
    [schedules.weekly]
    mon = ["13:00-17:00", "09:00-12:00"]
    fri = ["12:00-24:00", "00:00-12:00"]
    [[schedules.overrides]]
    date = 2026-12-24
    ranges = []
    [[schedules.overrides]]
    date = "2026-12-27"
    ranges = ["10:00-12:00"]

    [[schedules]]
    name = "Bob hours"
    user = "bob"
    timezone = "America/New_York"
    weekly = { tue = ["08:00-16:00"] }

    [[out_of_office]]
    user = "ada"
    start = 2026-12-24
    end = 2026-12-31
    reason = "Holidays"

    [[event_types]]
    slug = "intro-call"
    title = "Intro call"
    description = "A first chat."
    duration_minutes = 30
    owner = "ada"
    minimum_notice_hours = 4
    schedule = "Ada hours"
    max_bookings_per_day = 5
    locations = [
      { type = "google_meet", label = "Google Meet" },
      { type = "in_person", label = "Office", value = "1 Main St" },
    ]
    questions = [
      { key = "company", label = "Company", type = "text", required = false },
      { key = "size", label = "Size", type = "select", options = ["1-10", "11+"], id = "sz" },
    ]

    [[event_types]]
    slug = "demo"
    title = "Demo"
    duration_minutes = 45
    team = "sales"
    scheduling_type = "collective"
    schedule = "Bob hours"
    color = "#00AA11"
    buffer_before_minutes = 5
    buffer_after_minutes = 10
    minimum_notice_minutes = 120
    future_limit_days = 30
    slot_interval_minutes = 15
    requires_confirmation = true
    allow_reschedule = false
    allow_cancel = false
    active = false

    [[event_types]]
    slug = "intro-call"
    title = "Workshop"
    duration_minutes = 90
    team = "sales"
    scheduling_type = "group"
    hosts = ["bob"]
    seats_per_slot = 12

    [[user_limits]]
    user = "ada"
    max_bookings_per_day = 4
    max_bookings_per_month = 40
    """
)


def test_full_example_parses_into_the_expected_plan() -> None:
    expected = Plan(
        organization=OrgSpec("Acme"),
        users=(
            UserSpec("ada", "ada@example.com", "Ada", "Lovelace", "Europe/London", "en", "owner"),
            UserSpec("bob", "bob@example.com", None, None, "UTC", None, "user"),
        ),
        teams=(TeamSpec("sales", "Sales", ("ada", "bob")),),
        schedules=(
            ScheduleSpec(
                name="Ada hours",
                user="ada",
                timezone="Europe/London",
                default=True,
                weekly=(((540, 720), (780, 1020)), (), (), (), ((0, 720), (720, 1440)), (), ()),
                overrides=(
                    OverrideSpec(date(2026, 12, 24), ()),
                    OverrideSpec(date(2026, 12, 27), ((600, 720),)),
                ),
            ),
            ScheduleSpec(
                name="Bob hours",
                user="bob",
                timezone="America/New_York",
                default=None,
                weekly=((), ((480, 960),), (), (), (), (), ()),
            ),
        ),
        out_of_office=(OutOfOfficeSpec("ada", date(2026, 12, 24), date(2026, 12, 31), "Holidays"),),
        event_types=(
            EventTypeSpec(
                slug="intro-call",
                title="Intro call",
                description="A first chat.",
                duration_minutes=30,
                owner="ada",
                team=None,
                hosts=("ada",),
                minimum_notice_minutes=240,
                slot_interval_minutes=30,
                max_bookings_per_day=5,
                schedule="Ada hours",
                schedule_user="ada",
                locations=(
                    LocationSpec("google_meet", "Google Meet"),
                    LocationSpec("in_person", "Office", "1 Main St"),
                ),
                questions=(
                    QuestionSpec("q_company", "company", "Company", "text", False),
                    QuestionSpec("sz", "size", "Size", "select", False, ("1-10", "11+")),
                ),
            ),
            EventTypeSpec(
                slug="demo",
                title="Demo",
                duration_minutes=45,
                owner=None,
                team="sales",
                hosts=("ada", "bob"),
                scheduling_type="collective",
                active=False,
                color="#00AA11",
                buffer_before_minutes=5,
                buffer_after_minutes=10,
                minimum_notice_minutes=120,
                future_limit_days=30,
                slot_interval_minutes=15,
                requires_confirmation=True,
                allow_reschedule=False,
                allow_cancel=False,
                schedule="Bob hours",
                schedule_user="bob",
            ),
            EventTypeSpec(
                slug="intro-call",
                title="Workshop",
                duration_minutes=90,
                owner=None,
                team="sales",
                hosts=("bob",),
                scheduling_type="group",
                slot_interval_minutes=90,
                seats_per_slot=12,
            ),
        ),
        user_limits=(UserLimitSpec("ada", 4, None, 40),),
    )
    assert parse_plan(FULL) == expected


def test_minimal_file_and_defaults() -> None:
    plan = parse_plan('[organization]\nname = "Solo"\n')
    assert plan == Plan(OrgSpec("Solo"))

    plan = parse_plan(
        HEAD
        + dedent(
            """\
            [[event_types]]
            slug = "chat"
            title = "Chat"
            duration_minutes = 20
            owner = "bob"
            """
        )
    )
    (et,) = plan.event_types
    assert et.hosts == ("bob",)
    assert et.scheduling_type == "individual"
    assert et.slot_interval_minutes == 20
    assert (et.active, et.color, et.future_limit_days, et.minimum_notice_minutes) == (
        True,
        "#7c3aed",
        60,
        0,
    )
    assert (et.requires_confirmation, et.allow_reschedule, et.allow_cancel) == (
        False,
        True,
        True,
    )
    assert plan.users[0].role == "user" and plan.users[0].timezone == "UTC"


def test_schedule_converts_to_engine_schedule() -> None:
    plan = parse_plan(FULL)
    engine = plan.schedules[0].to_engine()
    assert isinstance(engine, Schedule)
    assert engine.timezone == "Europe/London"
    assert engine.weekly[0] == ((540, 720), (780, 1020))
    assert engine.weekly[6] == ()
    assert engine.overrides == {date(2026, 12, 24): (), date(2026, 12, 27): ((600, 720),)}


def test_inline_arrays_of_tables_and_dotted_keys_are_accepted() -> None:
    text = dedent(
        """\
        organization = { name = "Acme" }
        users = [{ username = "ada", email = "ada@example.com" }]

        [[schedules]]
        name = "Main"
        user = "ada"
        timezone = "UTC"
        weekly.wed = ["10:00-11:00"]
        overrides = [{ date = 2027-01-01, ranges = [] }]
        """
    )
    plan = parse_plan(text)
    assert plan.users[0].username == "ada"
    assert plan.schedules[0].weekly[2] == ((600, 660),)
    assert plan.schedules[0].overrides == (OverrideSpec(date(2027, 1, 1), ()),)


# --------------------------------------------------------------------------------------------
# Error reporting: paths, lines, messages


def test_syntax_error_is_reported_with_its_line() -> None:
    issue = only_issue('[organization]\nname = "Acme"\n\n[[users]]\nusername = \n')
    assert issue.line == 5
    assert issue.field == ""
    assert "TOML syntax error" in issue.message
    assert str(issue).startswith("line 5: TOML syntax error")


def test_syntax_error_at_end_of_file() -> None:
    issue = only_issue('[organization]\nname = """never closed\nstill going\n')
    assert issue.line == 3
    assert "end of file" in issue.message


def test_missing_organization_has_no_line() -> None:
    issue = only_issue("")
    assert issue == Issue(None, "organization", issue.message)
    assert str(issue).startswith("organization: missing [organization]")


def test_line_numbers_across_many_blocks() -> None:
    text = HEAD + dedent(
        """\

        [[schedules]]
        name = "A"
        user = "ada"
        timezone = "UTC"

        [[schedules]]
        name = "B"
        user = "bob"
        timezone = "Nowhere/City"
        [schedules.weekly]
        mon = ["09:00-12:00"]
        tue = ["09:00-12:00", "11:00-13:00"]
        [[schedules.overrides]]
        date = 2026-05-01
        ranges = []
        [[schedules.overrides]]
        date = "2026-13-01"
        ranges = ["18:00-17:00"]

        [[event_types]]
        slug = "ok"
        title = "OK"
        duration_minutes = 30
        owner = "ada"

        [[event_types]]
        slug = "one"
        title = "One"
        duration_minutes = 30
        owner = "ada"

        [[event_types]]
        slug = "two"
        title = "Two"
        owner = "ada"
        duration_minutes = 721
        """
    )
    issues = issues_of(text)
    by_field = {i.field: i.line for i in issues}
    assert by_field == {
        "schedules[1].timezone": 24,
        "schedules[1].weekly.tue[1]": 27,
        "schedules[1].overrides[1].date": 32,
        "schedules[1].overrides[1].ranges[0]": 33,
        "event_types[2].duration_minutes": 51,
    }
    # reported in file order
    assert [i.line for i in issues] == sorted(i.line or 0 for i in issues)


def test_missing_required_key_points_at_its_block_header() -> None:
    text = HEAD + dedent(
        """\

        [[event_types]]
        slug = "a"
        title = "A"
        duration_minutes = 30
        owner = "ada"

        [[event_types]]
        slug = "b"
        owner = "ada"
        duration_minutes = 30
        """
    )
    issue = only_issue(text)
    assert issue.field == "event_types[1].title"
    assert issue.line == 22
    assert "missing required key 'title'" in issue.message


def test_nested_paths_inside_inline_and_multiline_arrays() -> None:
    text = HEAD + dedent(
        '''\

        [[event_types]]
        slug = "a"
        title = "A"
        description = """
        spans
        lines [[not a header]]
        """
        duration_minutes = 30
        owner = "ada"  # [not a header either]
        locations = [{ type = "phone", label = "Phone" }, { type = "x", label = 3 }]
        questions = [
          { key = "first", label = "First", type = "text" },

          # a comment between elements
          { key = "second", label = "Second", type = "select" },
        ]
        '''
    )
    issues = issues_of(text)
    assert issue_at(issues, "event_types[0].locations[1].label").line == 25
    assert issue_at(issues, "event_types[0].questions[1].options").line == 30
    assert len(issues) == 2


def test_quoted_unknown_key_is_located() -> None:
    text = HEAD + '\n[[teams]]\nslug = "t"\nname = "T"\n"member list" = ["ada"]\n'
    issue = only_issue(text)
    assert issue.field == "teams[0].member list"
    assert issue.line == 19
    assert issue.message.startswith("unknown key 'member list'; allowed: slug, name, members")


def test_unknown_keys_everywhere() -> None:
    text = dedent(
        """\
        colour = "red"
        [organization]
        name = "Acme"
        plan = "pro"
        [[users]]
        username = "ada"
        email = "ada@example.com"
        nick = "A"
        [[schedules]]
        name = "S"
        user = "ada"
        timezone = "UTC"
        [schedules.weekly]
        monday = ["09:00-10:00"]
        [[schedules.overrides]]
        date = 2026-01-01
        ranges = []
        note = "x"
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (1, "colour"),
        (4, "organization.plan"),
        (8, "users[0].nick"),
        (14, "schedules[0].weekly.monday"),
        (18, "schedules[0].overrides[0].note"),
    ]
    assert all(i.message.startswith("unknown key") for i in issues)
    assert "allowed: mon, tue, wed, thu, fri, sat, sun" in issues[3].message


def test_multiple_errors_are_reported_together() -> None:
    text = dedent(
        """\
        [organization]
        name = ""

        [[users]]
        username = "Ada"
        email = "ada at example.com"
        role = "boss"
        timezone = "Mars/Base"
        """
    )
    with pytest.raises(PlanError) as info:
        parse_plan(text)
    err = info.value
    assert [(i.line, i.field) for i in err.issues] == [
        (2, "organization.name"),
        (5, "users[0].username"),
        (6, "users[0].email"),
        (7, "users[0].role"),
        (8, "users[0].timezone"),
    ]
    lines = str(err).splitlines()
    assert len(lines) == 5
    assert lines[1].startswith('line 5: users[0].username: "Ada" is not valid')
    assert 'try "ada"' in lines[1]
    assert "'owner', 'admin', 'user'" in lines[3]


@pytest.mark.parametrize(
    ("snippet", "field", "expected"),
    [
        ("duration_minutes = 30.5", "duration_minutes", "expected an integer, got a float"),
        ('duration_minutes = "30"', "duration_minutes", "without quotes"),
        ("duration_minutes = true", "duration_minutes", "expected an integer, got a boolean"),
        ("duration_minutes = 0", "duration_minutes", "from 1 to 720"),
        ('active = "yes"', "active", "expected a boolean"),
        ("title = 5", "title", "expected a string, got an integer"),
        ('hosts = "ada"', "hosts", "expected an array of usernames"),
        ("hosts = []", "hosts", "at least one"),
        ('locations = "zoom"', "locations", "expected an array of tables"),
        ('locations = ["zoom"]', "locations[0]", "expected a table, got a string"),
        ('color = "purple"', "color", "six hex digits"),
        ('slug = "Bad Slug"', "slug", "lowercase letters"),
        ('scheduling_type = "solo"', "scheduling_type", "'individual', 'collective', 'group'"),
        ("buffer_before_minutes = -1", "buffer_before_minutes", "from 0 to 720"),
        ("minimum_notice_minutes = 525601", "minimum_notice_minutes", "from 0 to 525600"),
        ("future_limit_days = 0", "future_limit_days", "from 1 to 3650"),
        ("slot_interval_minutes = 721", "slot_interval_minutes", "from 1 to 720"),
        ("max_bookings_per_week = 0", "max_bookings_per_week", "at least 1"),
        ("minimum_notice_hours = 1.5", "minimum_notice_hours", "expected an integer"),
    ],
)
def test_event_type_field_errors(snippet: str, field: str, expected: str) -> None:
    base = {
        "slug": '"a"',
        "title": '"A"',
        "duration_minutes": "30",
        "owner": '"ada"',
    }
    key = snippet.split(" = ")[0]
    base.pop(key, None)
    body = "".join(f"{k} = {v}\n" for k, v in base.items())
    text = HEAD + "\n[[event_types]]\n" + body + snippet + "\n"
    issue = only_issue(text)
    assert issue.field == f"event_types[0].{field}"
    assert issue.line == text.splitlines().index(snippet) + 1
    assert expected in issue.message


def test_owner_and_team_rules() -> None:
    text = HEAD + dedent(
        """\
        [[teams]]
        slug = "t"
        name = "T"
        members = ["ada"]

        [[event_types]]
        slug = "both"
        title = "Both"
        duration_minutes = 30
        owner = "ada"
        team = "t"

        [[event_types]]
        slug = "neither"
        title = "Neither"
        duration_minutes = 30
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (25, "event_types[0].team"),
        (27, "event_types[1].owner"),
    ]
    assert "not both" in issues[0].message


def test_scheduling_type_rules() -> None:
    text = HEAD + dedent(
        """\
        [[event_types]]
        slug = "rr"
        title = "RR"
        duration_minutes = 30
        owner = "ada"
        scheduling_type = "collective"

        [[event_types]]
        slug = "grp"
        title = "Group"
        duration_minutes = 30
        owner = "ada"
        scheduling_type = "group"

        [[event_types]]
        slug = "seats"
        title = "Seats"
        duration_minutes = 30
        owner = "ada"
        seats_per_slot = 4

        [[event_types]]
        slug = "tiny"
        title = "Tiny group"
        duration_minutes = 30
        owner = "ada"
        scheduling_type = "group"
        seats_per_slot = 1

        [[event_types]]
        slug = "rr2"
        title = "RR with hosts"
        duration_minutes = 30
        owner = "ada"
        hosts = ["ada", "bob"]
        scheduling_type = "collective"
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (20, "event_types[0].scheduling_type"),
        (22, "event_types[1].seats_per_slot"),
        (34, "event_types[2].seats_per_slot"),
        (42, "event_types[3].seats_per_slot"),
    ]
    assert "set team or list hosts" in issues[0].message
    assert "group event types need it" in issues[1].message
    assert "only group event types" in issues[2].message
    assert "from 2 to 9999" in issues[3].message


def test_minimum_notice_hours_and_minutes() -> None:
    text = HEAD + '\n[[event_types]]\nslug = "a"\ntitle = "A"\nduration_minutes = 30\n'
    text += 'owner = "ada"\nminimum_notice_hours = 2\n'
    assert parse_plan(text).event_types[0].minimum_notice_minutes == 120
    issue = only_issue(text + "minimum_notice_minutes = 120\n")
    assert issue.field == "event_types[0].minimum_notice_hours"
    assert issue.line == 21
    assert "not both" in issue.message


def test_question_rules() -> None:
    text = HEAD + dedent(
        """\
        [[event_types]]
        slug = "q"
        title = "Q"
        duration_minutes = 30
        owner = "ada"
        [[event_types.questions]]
        key = "Company"
        label = "Company"
        type = "text"
        [[event_types.questions]]
        key = "pick"
        label = "Pick"
        type = "select"
        [[event_types.questions]]
        key = "note"
        label = "Note"
        type = "textarea"
        options = ["a"]
        [[event_types.questions]]
        key = "pick"
        label = "Pick again"
        type = "radio"
        [[event_types.questions]]
        key = "multi"
        label = "Multi"
        type = "multiselect"
        options = []
        [[event_types.questions]]
        key = "x"
        label = "X"
        type = "checkbox"
        id = "q_note"
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (21, "event_types[0].questions[0].key"),
        (24, "event_types[0].questions[1].options"),
        (32, "event_types[0].questions[2].options"),
        (34, "event_types[0].questions[3].key"),
        (36, "event_types[0].questions[3].type"),
        (41, "event_types[0].questions[4].options"),
        (46, "event_types[0].questions[5].id"),
    ]


def test_location_rules() -> None:
    text = HEAD + dedent(
        """\
        [[event_types]]
        slug = "l"
        title = "L"
        duration_minutes = 30
        owner = "ada"
        locations = [{ label = "Somewhere" }, { type = "phone", label = "Call", value = 5, x = 1 }]
        """
    )
    issues = issues_of(text)
    assert {i.field for i in issues} == {
        "event_types[0].locations[0].type",
        "event_types[0].locations[1].value",
        "event_types[0].locations[1].x",
    }
    assert {i.line for i in issues} == {20}


# --------------------------------------------------------------------------------------------
# Time ranges and dates


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        ('["09:00-17:00"]', ((540, 1020),)),
        ('["00:00-24:00"]', ((0, 1440),)),
        ('["13:00-14:00", "09:00-13:00"]', ((540, 780), (780, 840))),
        ('["23:59-24:00"]', ((1439, 1440),)),
        ('["09:00 - 10:30"]', ((540, 630),)),
        ("[]", ()),
    ],
)
def test_valid_ranges(ranges: str, expected: tuple[tuple[int, int], ...]) -> None:
    text = HEAD + '[[schedules]]\nname = "S"\nuser = "ada"\ntimezone = "UTC"\n'
    text += f"weekly.sat = {ranges}\n"
    assert parse_plan(text).schedules[0].weekly[5] == expected


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ('"9:00-17:00"', "is not a time range"),
        ('"09:00-17:00-18:00"', "is not a time range"),
        ('"24:00-24:00"', "start hour must be 00-23"),
        ('"09:00-24:30"', "end exactly 24:00"),
        ('"09:60-10:00"', "minutes must be 00-59"),
        ('"10:00-10:00"', "must start before it ends"),
        ('"22:00-02:00"', "cannot cross midnight"),
        ("900", "expected a string"),
    ],
)
def test_invalid_ranges(item: str, expected: str) -> None:
    text = HEAD + dedent(
        f"""\
        [[schedules]]
        name = "S"
        user = "ada"
        timezone = "UTC"
        [schedules.weekly]
        mon = ["07:00-08:00"]
        thu = ["06:00-07:00", {item}]
        """
    )
    issue = only_issue(text)
    assert issue.field == "schedules[0].weekly.thu[1]"
    assert issue.line == 21
    assert expected in issue.message


def test_overlapping_ranges() -> None:
    text = HEAD + dedent(
        """\
        [[schedules]]
        name = "S"
        user = "ada"
        timezone = "UTC"
        weekly.mon = [
          "08:00-12:00",
          "13:00-14:00",
          "09:00-10:00",
        ]
        """
    )
    issue = only_issue(text)
    assert issue.field == "schedules[0].weekly.mon[2]"
    assert issue.line == 22
    assert "09:00-10:00 overlaps 08:00-12:00" in issue.message


def test_override_rules() -> None:
    text = HEAD + dedent(
        """\
        [[schedules]]
        name = "S"
        user = "ada"
        timezone = "UTC"
        [[schedules.overrides]]
        date = 2026-12-24
        ranges = []
        [[schedules.overrides]]
        date = "2026-12-24"
        ranges = ["10:00-11:00"]
        [[schedules.overrides]]
        date = 2026-12-25T09:00:00
        ranges = []
        [[schedules.overrides]]
        date = "24.12.2026"
        ranges = []
        [[schedules.overrides]]
        date = 2026-12-26
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (23, "schedules[0].overrides[1].date"),
        (26, "schedules[0].overrides[2].date"),
        (29, "schedules[0].overrides[3].date"),
        (31, "schedules[0].overrides[4].ranges"),
    ]
    assert "already has an override" in issues[0].message
    assert "drop the time part" in issues[1].message
    assert "YYYY-MM-DD" in issues[2].message
    assert "ranges = []" in issues[3].message


def test_out_of_office_rules() -> None:
    text = HEAD + dedent(
        """\
        [[out_of_office]]
        user = "ada"
        start = "2026-08-01"
        end = 2026-08-01

        [[out_of_office]]
        user = "bob"
        start = 2026-08-10
        end = 2026-08-01

        [[out_of_office]]
        user = "cy"
        start = 2026-08-10
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (23, "out_of_office[1].end"),
        (25, "out_of_office[2].end"),
    ]
    assert "must be on or after start" in issues[0].message


# --------------------------------------------------------------------------------------------
# Cross references and uniqueness


def test_references_to_unknown_names() -> None:
    text = HEAD + dedent(
        """\
        [[teams]]
        slug = "t"
        name = "T"
        members = ["ada", "zoe"]

        [[schedules]]
        name = "Z"
        user = "zoe"
        timezone = "UTC"

        [[out_of_office]]
        user = "zoe"
        start = 2026-01-01
        end = 2026-01-02

        [[event_types]]
        slug = "a"
        title = "A"
        duration_minutes = 30
        owner = "zoe"

        [[event_types]]
        slug = "b"
        title = "B"
        duration_minutes = 30
        team = "nope"

        [[event_types]]
        slug = "c"
        title = "C"
        duration_minutes = 30
        team = "t"
        hosts = ["ada", "bob", "ghost"]
        schedule = "Nope"

        [[user_limits]]
        user = "zoe"
        max_bookings_per_week = 3
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (18, "teams[0].members[1]"),
        (22, "schedules[0].user"),
        (26, "out_of_office[0].user"),
        (34, "event_types[0].owner"),
        (40, "event_types[1].team"),
        (47, "event_types[2].hosts[1]"),
        (47, "event_types[2].hosts[2]"),
        (48, "event_types[2].schedule"),
        (51, "user_limits[0].user"),
    ]
    assert 'no user "zoe" in this file' in issues[0].message
    assert 'no team "nope"' in issues[4].message
    assert 'not a member of team "t"' in issues[5].message
    assert 'no user "ghost"' in issues[6].message
    assert 'no schedule named "Nope"' in issues[7].message


def test_schedule_must_belong_to_owner_or_host() -> None:
    schedules = dedent(
        """\
        [[schedules]]
        name = "Hours"
        user = "bob"
        timezone = "UTC"

        [[schedules]]
        name = "Hours"
        user = "cy"
        timezone = "UTC"

        [[event_types]]
        slug = "a"
        title = "A"
        duration_minutes = 30
        """
    )
    text = HEAD + schedules + 'owner = "ada"\nschedule = "Hours"\n'
    issue = only_issue(text)
    assert issue.field == "event_types[0].schedule"
    assert issue.line == 30
    assert "belongs to 'bob', 'cy'" in issue.message

    ok = parse_plan(HEAD + schedules + 'owner = "ada"\nhosts = ["cy"]\nschedule = "Hours"\n')
    assert ok.event_types[0].schedule_user == "cy"

    both = 'owner = "ada"\nhosts = ["bob", "cy"]\nschedule = "Hours"\n'
    issue = only_issue(HEAD + schedules + both)
    assert "ambiguous" in issue.message


def test_uniqueness_rules() -> None:
    text = dedent(
        """\
        [organization]
        name = "Acme"

        [[users]]
        username = "ada"
        email = "ada@example.com"

        [[users]]
        username = "ADA"
        email = "Ada@Example.com"

        [[teams]]
        slug = "t"
        name = "T"
        members = ["ada"]

        [[teams]]
        slug = "t"
        name = "T again"

        [[schedules]]
        name = "S"
        user = "ada"
        timezone = "UTC"
        default = true

        [[schedules]]
        name = "S"
        user = "ada"
        timezone = "UTC"

        [[schedules]]
        name = "S2"
        user = "ada"
        timezone = "UTC"
        default = true

        [[event_types]]
        slug = "call"
        title = "Call"
        duration_minutes = 30
        owner = "ada"

        [[event_types]]
        slug = "call"
        title = "Team call"
        duration_minutes = 30
        team = "t"

        [[event_types]]
        slug = "call"
        title = "Call again"
        duration_minutes = 30
        owner = "ada"

        [[user_limits]]
        user = "ada"

        [[user_limits]]
        user = "ada"
        """
    )
    issues = issues_of(text)
    assert [(i.line, i.field) for i in issues] == [
        (9, "users[1].username"),  # not lowercase
        (9, "users[1].username"),  # and the same as "ada"
        (10, "users[1].email"),
        (18, "teams[1].slug"),
        (28, "schedules[1].name"),
        (36, "schedules[2].default"),
        (51, "event_types[2].slug"),
        (60, "user_limits[1].user"),
    ]
    assert "usernames ignore case" in issues[1].message
    # the same slug for a different owner (team "t") is fine
    assert not any(i.field == "event_types[1].slug" for i in issues)


def test_email_validation() -> None:
    for bad in ("ada", "ada@", "@example.com", "ada@example", "adä@example.com", "a b@x.io"):
        text = f'[organization]\nname = "A"\n[[users]]\nusername = "ada"\nemail = "{bad}"\n'
        issue = only_issue(text)
        assert (issue.line, issue.field) == (5, "users[0].email"), bad
    text = '[organization]\nname = "A"\n[[users]]\nusername = "a"\n'
    text += 'email = "a.b+c@mail.example.org"\n'
    assert parse_plan(text).users[0].email == "a.b+c@mail.example.org"


def test_team_without_members_cannot_host() -> None:
    text = HEAD + dedent(
        """\
        [[teams]]
        slug = "empty"
        name = "Empty"

        [[event_types]]
        slug = "a"
        title = "A"
        duration_minutes = 30
        team = "empty"
        """
    )
    issue = only_issue(text)
    assert (issue.line, issue.field) == (23, "event_types[0].team")
    assert "no members" in issue.message
    fixed = text + "hosts = []\n"
    assert "must not be empty" in only_issue(fixed).message


def test_str_of_plan_error_lists_one_issue_per_line() -> None:
    err = PlanError([Issue(3, "users[0].email", "bad"), Issue(None, "organization", "missing")])
    assert str(err) == "line 3: users[0].email: bad\norganization: missing"
