"""Every slash command, action, callback and block id, in one place (renderers and register() share them)."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    KPI = "/kpi"
    ADHERENCE = "/adherence"
    ONE_ON_ONE = "/1on1"
    PIP = "/pip"
    HUDDLE = "/huddle"
    NOTICE = "/notice"


class ActionId(StrEnum):
    BREACH_ACK = "breach.ack"
    BREACH_EXCUSE = "breach.excuse"
    BREACH_COACH = "breach.coach"
    COACHING_ACK = "coaching.ack"
    PIP_ACK = "pip.ack"
    HUDDLE_CHECKIN = "huddle.checkin"
    NOTICE_ACK = "notice.ack"  # value "<notice id>:<material version number>"


class CallbackId(StrEnum):
    BREACH_EXCUSE_FORM = "breach.excuse_form"
    COACHING_FORM = "coaching.session_form"
    PIP_FORM = "pip.plan_form"
    HUDDLE_CHECKIN_FORM = "huddle.checkin_form"
    NOTICE_FORM = "notice.form"


class BlockId(StrEnum):
    SCORECARD_HEADER = "kpi.header"
    SCORECARD_META = "kpi.meta"
    SCORECARD_LEGEND = "kpi.legend"
    COMPARISON_HEADER = "kpi.compare.header"
    BREACH = "breach"  # + ".<id>"
    BREACH_ACTIONS = "breach.actions"  # + ".<id>"
    EXCUSE_REASON = "excuse.reason"
    EXCUSE_NOTE = "excuse.note"
    COACHING_AGENT = "coaching.agent"
    COACHING_KIND = "coaching.kind"
    COACHING_DATE = "coaching.date"
    COACHING_SUMMARY = "coaching.summary"
    COACHING_NOTES = "coaching.notes"
    COACHING_STRENGTHS = "coaching.strengths"
    COACHING_IMPROVE = "coaching.improve"
    COACHING_ACTIONS = "coaching.actions"
    COACHING_FOLLOW_UP = "coaching.follow_up"
    COACHING_DM_ACTIONS = "coaching.dm_actions"  # + ".<session id>"
    PIP_GOALS = "pip.goals"
    PIP_REVIEWS = "pip.reviews"
    PIP_END = "pip.end"
    PIP_DM_ACTIONS = "pip.dm_actions"  # + ".<plan id>.<version>"
    HUDDLE_PROMPT = "huddle.prompt"
    HUDDLE_ACTIONS = "huddle.actions"  # + ".<huddle id>"
    HUDDLE_MOOD = "huddle.mood"
    HUDDLE_BLOCKERS = "huddle.blockers"
    HUDDLE_NOTE = "huddle.note"
    NOTICE_TITLE = "notice.title"
    NOTICE_BODY = "notice.body"
    NOTICE_EFFECTIVE = "notice.effective"
    NOTICE_DEADLINE = "notice.deadline"
    NOTICE_AUDIENCE = "notice.audience"
    NOTICE_LINK = "notice.link"
    NOTICE_MINOR = "notice.minor"
    NOTICE_ACTIONS = "notice.actions"  # + ".<notice id>"
    NOTICE_COUNT = "notice.count"  # + ".<notice id>"
