"""org.yml validation and the plan that turns the current state into it."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.domain.org import Change, OrgSpec, diff_fields, person_fields, plan, team_fields


def org(**overrides: Any) -> dict[str, Any]:
    """A valid org.yml as a dict: one team with a CSAT target, its lead, and a manager."""
    data: dict[str, Any] = {
        "teams": [
            {
                "key": "alpha",
                "name": "Team Alpha",
                "channel": "C0ALPHA01",
                "leads": ["Lead.Alpha@Example.com"],
                "targets": {"csat": {"green": 85, "amber": 80}},
            }
        ],
        "people": [
            {"email": "lead.alpha@example.com", "name": "Lindiwe Lead", "slack_user_id": "UALPHALEAD", "team": "alpha"},
            {"email": "ops@example.com", "name": "Olivia Ops", "role": "manager", "teams": ["alpha"]},
        ],
    }
    data.update(overrides)
    return data


def team(**fields: Any) -> dict[str, Any]:
    return {"key": "alpha", "name": "Team Alpha", **fields}


def test_valid_org_normalises_emails_and_days() -> None:
    spec = OrgSpec.model_validate(org(teams=[team(working_days=["FRI", "mon", "Wed", "mon"])]))
    assert spec.teams[0].working_days == ("mon", "wed", "fri")
    assert spec.people[0].email == "lead.alpha@example.com"
    assert spec.team_tz(spec.teams[0]) == "Africa/Johannesburg"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (org(teams=[team(timezone="Mars/Olympus")], people=[]), "unknown time zone 'Mars/Olympus'"),
        (org(teams=[team(snapshot_times=["10:00", "9:30"])], people=[]), "'9:30' is not a 24-hour HH:MM time"),
        (org(teams=[team(snapshot_times=["24:00"])], people=[]), "'24:00' is not a 24-hour HH:MM time"),
        (org(teams=[team(huddle_time="12:60")], people=[]), "'12:60' is not a 24-hour HH:MM time"),
        (org(teams=[team(working_days=["mon", "funday"])], people=[]), "unknown day name(s) ['funday']"),
        (org(teams=[team(), team(name="Again")], people=[]), "team key(s) defined twice: ['alpha']"),
        (
            org(teams=[team(leads=["ghost@example.com"])], people=[]),
            "team alpha: lead ghost@example.com must also be listed under people",
        ),
        (
            org(teams=[team()], people=[{"email": "a@example.com", "name": "A", "team": "zulu"}]),
            "person a@example.com refers to unknown team 'zulu'",
        ),
        (
            org(teams=[team()], people=[{"email": "a@example.com", "name": "A", "teams": ["alpha", "zulu"]}]),
            "person a@example.com refers to unknown team 'zulu'",
        ),
        (
            org(people=[{"email": "a@example.com", "name": "A"}, {"email": "A@example.com", "name": "A2"}], teams=[]),
            "a person is listed twice under people",
        ),
        (org(teams=[team(colour="red")], people=[]), "Extra inputs are not permitted"),
        (org(favourite_team="alpha"), "Extra inputs are not permitted"),
        (org(teams=[team(key="Alpha")], people=[]), "String should match pattern"),
        (org(teams=[team(channel="#alpha")], people=[]), "String should match pattern"),
        (org(teams=[team(privacy_mode="everything")], people=[]), "String should match pattern"),
    ],
)
def test_org_spec_rejects(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        OrgSpec.model_validate(data)
    assert message in str(info.value)


def test_org_spec_rejects_an_unknown_org_wide_timezone() -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        OrgSpec.model_validate(org(timezone="Mars/Olympus"))


@pytest.mark.parametrize("key", ["today", "7d", "post", "me"])
def test_team_keys_cannot_be_kpi_keywords(key: str) -> None:
    data = org()
    data["teams"][0]["key"] = key
    with pytest.raises(ValidationError, match="is a /kpi keyword"):
        OrgSpec.model_validate(data)


def test_oversight_joins_team_leads_and_peoples_teams() -> None:
    spec = OrgSpec.model_validate(org())
    assert spec.oversight() == {("alpha", "lead.alpha@example.com"), ("alpha", "ops@example.com")}


EMPTY: dict[str, Any] = {"teams": {}, "people": {}, "targets": {}, "oversight": set(), "metrics": {}}


def current_state(spec: OrgSpec) -> dict[str, Any]:
    """The state a database that already matches ``spec`` would report."""
    return {
        "teams": {t.key: team_fields(spec, t) for t in spec.teams},
        "people": {p.email: person_fields(p) for p in spec.people},
        "targets": {(t.key, k): (tg.green, tg.amber) for t in spec.teams for k, tg in t.targets.items()},
        "oversight": spec.oversight(),
        "metrics": {},
    }


def test_plan_from_nothing_creates_everything() -> None:
    spec = OrgSpec.model_validate(org())
    assert plan(spec, **EMPTY) == [
        Change("create", "team", "alpha", "Team Alpha"),
        Change("create", "target", "alpha/csat", "green 85.0, amber 80.0"),
        Change("create", "person", "lead.alpha@example.com", "Lindiwe Lead (lead)"),
        Change("create", "person", "ops@example.com", "Olivia Ops (manager)"),
        Change("create", "lead", "alpha/lead.alpha@example.com"),
        Change("create", "lead", "alpha/ops@example.com"),
    ]


def test_plan_for_matching_state_is_empty() -> None:
    spec = OrgSpec.model_validate(org())
    assert plan(spec, **current_state(spec)) == []


def test_plan_changed_channel_is_one_update() -> None:
    spec = OrgSpec.model_validate(org())
    state = current_state(spec)
    state["teams"]["alpha"]["channel_id"] = "C0OLDCHAN"
    changes = plan(spec, **state)
    assert changes == [Change("update", "team", "alpha", "channel_id: 'C0OLDCHAN' → 'C0ALPHA01'")]
    assert "channel_id" in changes[0].detail


def test_plan_changed_target_is_an_update() -> None:
    spec = OrgSpec.model_validate(org())
    state = current_state(spec)
    state["targets"][("alpha", "csat")] = (90.0, 80.0)
    assert plan(spec, **state) == [Change("update", "target", "alpha/csat", "90.0/80.0 → 85.0/80.0")]


def test_plan_changed_person_role_is_an_update() -> None:
    spec = OrgSpec.model_validate(org())
    state = current_state(spec)
    state["people"]["ops@example.com"]["role"] = "lead"
    assert plan(spec, **state) == [Change("update", "person", "ops@example.com", "role: 'lead' → 'manager'")]


def test_plan_removes_a_lead_dropped_from_a_managed_team() -> None:
    spec = OrgSpec.model_validate(org())
    state = current_state(spec)
    state["oversight"] = state["oversight"] | {("alpha", "former@example.com")}
    assert plan(spec, **state) == [Change("remove", "lead", "alpha/former@example.com")]


def test_plan_leaves_oversight_of_teams_not_in_the_file_alone() -> None:
    spec = OrgSpec.model_validate(org())
    state = current_state(spec)
    state["oversight"] = state["oversight"] | {("legacy", "ops@example.com")}
    assert plan(spec, **state) == []


def test_plan_creates_and_updates_metrics() -> None:
    metric = {"key": "nps", "label": "NPS", "unit": "score", "aggregation": "mean", "position": 45}
    spec = OrgSpec.model_validate(org(metrics=[metric]))
    state = current_state(spec)
    assert plan(spec, **state) == [Change("create", "metric", "nps")]
    state["metrics"] = {"nps": {**spec.metrics[0].model_dump(exclude={"key"}), "label": "Net promoter"}}
    assert plan(spec, **state) == [Change("update", "metric", "nps", "label: 'Net promoter' → 'NPS'")]


def test_diff_fields_lists_only_differences() -> None:
    assert diff_fields({"a": 1, "b": 2}, {"a": 1, "b": 3}) == "b: 2 → 3"
    assert diff_fields({"a": 1}, {"a": 1}) == ""
    assert diff_fields({}, {"a": None, "b": "x"}) == "b: None → 'x'"


@pytest.mark.parametrize(
    ("change", "text"),
    [
        (Change("create", "team", "alpha", "Team Alpha"), "+ team alpha: Team Alpha"),
        (Change("update", "team", "alpha", "channel_id: 'C1' → 'C2'"), "~ team alpha: channel_id: 'C1' → 'C2'"),
        (Change("remove", "lead", "alpha/x@example.com"), "- lead alpha/x@example.com"),
    ],
)
def test_change_str(change: Change, text: str) -> None:
    assert str(change) == text


def test_team_adherence_settings_are_validated_in_org_yml() -> None:
    data = org()
    data["teams"][0]["adherence"] = {"rules": {"thresholds": {"late_login": 120}}, "escalate_after_minutes": 10}
    assert OrgSpec.model_validate(data).teams[0].adherence["escalate_after_minutes"] == 10
    data["teams"][0]["adherence"] = {"rules": {"matrix": {"open": {"brake": "out"}}}}
    with pytest.raises(ValidationError, match="brake"):
        OrgSpec.model_validate(data)
