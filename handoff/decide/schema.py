"""The shape of ``config/rules.yaml``: pydantic models with the checks that name the offending path.

Numbers have defaults equal to the issue's defaults; word lists have none, so a rules file that forgets
one is refused rather than silently escalating nothing. :mod:`handoff.decide.rules` turns validation
errors into :class:`~handoff.decide.rules.RulesError` messages like
``priority.weights.tier: must be a number between 0 and 1``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from handoff.contract import Zone
from handoff.models import Priority, Tier, Urgency

TOPICS: tuple[str, ...] = ("technical", "billing", "account", "sales", "general")
Topic = Literal["technical", "billing", "account", "sales", "general"]
Level = Literal["immediate", "rapid", "scheduled", "none"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _fraction(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= 1:
        raise ValueError("must be a number between 0 and 1")
    return float(v)


def _positive(v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
        raise ValueError("must be a positive number")
    return float(v)


def _count(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError("must be a whole number >= 0")
    return v


def _words(v: object) -> list[str]:
    if not isinstance(v, list):
        raise ValueError("must be a list of words or phrases")
    for i, x in enumerate(v):
        if not isinstance(x, str) or not x.strip():
            hint = " (YAML reads yes/no/on/off as booleans: quote them)" if isinstance(x, bool) else ""
            raise ValueError(f"item {i} must be a non-empty string, got {x!r}{hint}")
    return [x.strip() for x in v]


Fraction = Annotated[float, BeforeValidator(_fraction)]
Positive = Annotated[float, BeforeValidator(_positive)]
Count = Annotated[int, BeforeValidator(_count)]
Words = Annotated[list[str], BeforeValidator(_words)]


class Model(BaseModel):
    """Base of every rules-file section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _sums_to_one(section: BaseModel) -> None:
    total = sum(float(v) for v in section.model_dump().values())
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"must add up to 1.0 (got {total:g})")


class ConfidenceRules(Model):
    immediate_below: Fraction = 0.60
    streak_below: Fraction = 0.70
    streak_length: Annotated[int, Field(ge=2, le=50)] = 3
    drop_points: Fraction = 0.20
    very_low_below: Fraction = 0.20
    settled_at: Fraction = 0.80


class NegationRules(Model):
    window: Annotated[int, Field(ge=1, le=10)] = 4
    negators: Words
    clause_breaks: Words = []
    skip_after: Words = []
    inversion_aux: Words = []
    inversion_subjects: Words = []
    broken_by: Words = []
    released_by: Words = []
    conditionals: Words = []


class FuzzyRules(Model):
    words: Words = []
    min_length: Annotated[int, Field(ge=3, le=20)] = 4
    keep: Words = []


class TextRules(Model):
    negation: NegationRules
    mention_markers: Words = []
    fuzzy: FuzzyRules = FuzzyRules()
    stopwords: Words = []


class CueRules(Model):
    """A family of customer phrases that means one thing ("a person is requested", "a legal threat")."""

    level: Level
    label: Annotated[str, Field(min_length=1, max_length=80)]
    weight: Fraction | None = None
    phrases: Words = []
    whole_message: Words = []
    unless: Words = []
    negatable: bool = True
    requires_any: Words = []
    topic: Topic | None = None
    topic_weight: Positive = 3.0
    flags: Words = []
    confidence_gated: bool = False

    @model_validator(mode="after")
    def _has_words(self) -> Self:
        if not self.phrases and not self.whole_message:
            raise ValueError("needs phrases or whole_message")
        return self


class ShoutingRules(Model):
    min_letters: Annotated[int, Field(ge=1)] = 10
    upper_ratio: Fraction = 0.70


class RepeatRules(Model):
    similarity: Fraction = 0.70
    min_tokens: Annotated[int, Field(ge=1)] = 4
    min_content: Annotated[int, Field(ge=1)] = 2
    lookback: Annotated[int, Field(ge=2, le=100)] = 12


class FrustrationRules(Model):
    level: Level = "rapid"
    sentiment_at_most: Annotated[float, Field(ge=-1, le=0)] = -0.5
    sentiment_floor: Annotated[float, Field(ge=-1, lt=0)] = -0.25
    sentiment_locales: Words = ["en"]
    neutral_terms: Words = []
    shouting: ShoutingRules = ShoutingRules()
    repeated_question: RepeatRules = RepeatRules()

    @model_validator(mode="after")
    def _floor(self) -> Self:
        if self.sentiment_at_most > self.sentiment_floor:
            raise ValueError("sentiment_at_most must not be above sentiment_floor")
        return self


class AIUnsureRules(Model):
    level: Level = "rapid"
    min_answers: Annotated[int, Field(ge=1)] = 2
    phrases: Words


class PatternRules(Model):
    weight: Positive = 1.0
    regex: Words

    @field_validator("regex")
    @classmethod
    def _compiles(cls, v: list[str]) -> list[str]:
        for i, pattern in enumerate(v):
            try:
                re.compile(pattern, re.MULTILINE)
            except re.error as exc:
                raise ValueError(f"item {i} {pattern!r} is not a valid regular expression: {exc}") from exc
        return v


class ComplexityRules(Model):
    level: Level = "rapid"
    min_score: Positive = 2.0
    saturation: Positive = 4.0
    confidence_gated: bool = True
    code_block_weight: Annotated[float, Field(ge=0)] = 1.0
    attempted_step_weight: Annotated[float, Field(ge=0)] = 0.5
    terms: Words
    patterns: dict[str, PatternRules] = {}


class ConversationRules(Model):
    long_after_minutes: Positive = 10.0
    long_level: Level = "scheduled"
    low_rating_below: Annotated[int, Field(ge=1, le=6)] = 3
    low_rating_level: Level = "scheduled"
    kb_zero_hits_level: Level = "immediate"


class ResolutionRules(Model):
    phrases: Words
    whole_message: Words = []
    suppresses: Words = []


class AccountRules(Model):
    level: Level = "scheduled"
    flags: Words = []
    plans: Words = []
    only_if_open: bool = True
    repeat_min_escalations: Annotated[int, Field(ge=1)] = 1
    repeat_level: Level = "scheduled"


class TopicLexicon(Model):
    intents: Words = []
    terms: Words = []
    strong_terms: Words = []


class TopicsRules(Model):
    tie_order: list[Topic] = ["account", "billing", "technical", "sales", "general"]
    confidence_override: list[Topic] = ["billing", "account"]
    strong_weight: Positive = 3.0
    summary_weight: Annotated[float, Field(ge=0)] = 1.0
    lexicon: dict[Topic, TopicLexicon]


class PriorityWeights(Model):
    tier: Fraction = 0.35
    urgency: Fraction = 0.30
    complexity: Fraction = 0.20
    sentiment: Fraction = 0.15

    @model_validator(mode="after")
    def _total(self) -> Self:
        _sums_to_one(self)
        return self


class PriorityThresholds(Model):
    critical: Fraction = 0.70
    high: Fraction = 0.50
    medium: Fraction = 0.28

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.critical > self.high > self.medium:
            raise ValueError("must be ordered critical > high > medium")
        return self


class UrgencyScores(Model):
    immediate: Fraction = 1.0
    rapid: Fraction = 0.6
    scheduled: Fraction = 0.3
    none: Fraction = 0.0

    def of(self, urgency: Urgency) -> float:
        return float(getattr(self, urgency.value))


class Floor(Model):
    """A hard floor: when every flag in ``all`` is present, priority is at least ``at_least``."""

    all: Annotated[Words, Field(min_length=1)]
    at_least: Priority
    label: Annotated[str, Field(min_length=1, max_length=80)]


class PriorityRules(Model):
    weights: PriorityWeights = PriorityWeights()
    thresholds: PriorityThresholds = PriorityThresholds()
    urgency_scores: UrgencyScores = UrgencyScores()
    plan_scores: dict[str, Fraction] = {}
    default_plan_score: Fraction = 0.2
    vip_score: Fraction = 0.9
    enterprise_plans: Words = ["enterprise"]
    sentiment_cues: dict[str, Fraction] = {}
    floors: list[Floor] = []
    bumps: dict[str, Annotated[int, Field(ge=0, le=3)]] = {}
    max_bump: Annotated[int, Field(ge=0, le=3)] = 2
    boosts: dict[str, Fraction] = {}
    reason_weights: UrgencyScores = UrgencyScores()


class BusinessHours(Model):
    timezone: Zone = "UTC"
    days: list[Weekday] = ["mon", "tue", "wed", "thu", "fri"]
    start: str = "09:00"
    end: str = "17:00"

    @field_validator("start", "end")
    @classmethod
    def _clock(cls, v: str) -> str:
        if not isinstance(v, str) or not _HHMM.match(v):
            raise ValueError("must be a time like 09:00")
        return v

    @model_validator(mode="after")
    def _span(self) -> Self:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class RoutingWeights(Model):
    specialization: Fraction = 0.35
    load: Fraction = 0.25
    fit: Fraction = 0.20
    performance: Fraction = 0.15
    availability: Fraction = 0.05

    @model_validator(mode="after")
    def _total(self) -> Self:
        _sums_to_one(self)
        return self


class FitWeights(Model):
    language: Fraction = 0.4
    plan: Fraction = 0.2
    timezone: Fraction = 0.15
    history: Fraction = 0.25

    @model_validator(mode="after")
    def _total(self) -> Self:
        _sums_to_one(self)
        return self


class Availability(Model):
    available: Fraction = 1.0
    busy: Fraction = 0.4
    away: Fraction = 0.1
    outside_hours: Fraction = 0.3


class RoutingRules(Model):
    threshold: Fraction = 0.8
    mode: Literal["suggest", "assign"] = "suggest"
    weights: RoutingWeights = RoutingWeights()
    fit_weights: FitWeights = FitWeights()
    availability: Availability = Availability()
    queue_skill_score: Fraction = 0.6
    skill_match_score: Fraction = 0.4
    below_tier_factor: Fraction = 0.8
    complex_min_tier: Tier = Tier.L2
    complex_at: Fraction = 0.5
    premium_plans: Words = ["enterprise", "business"]
    premium_skills: Words = ["vip", "enterprise"]
    history_saturation: Annotated[int, Field(ge=1)] = 2
    first_response_good_s: Positive = 60.0
    first_response_bad_s: Positive = 900.0

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        if isinstance(data, dict) and "channels" in data:
            raise ValueError("routing.channels is no longer read here: map queues to channels in BATON_CONFIG "
                             "(queues.<queue>.channels: {slack: C…, teams: …})")
        return data

    @model_validator(mode="after")
    def _response_span(self) -> Self:
        if self.first_response_good_s >= self.first_response_bad_s:
            raise ValueError("first_response_good_s must be below first_response_bad_s")
        return self


class IntentHead(Model):
    """One intent of the learned model: the rule cue whose signal it raises, and when."""

    cue: Annotated[str, Field(min_length=1)]
    threshold: Fraction | None = None  # None: the threshold recorded in the model file


class IntentModelRules(Model):
    """The learned intent layer (``handoff.decide.intent``) and how it combines with the rules.

    Precedence: a rule phrase that fires wins (its quote is exact); the model raises a cue the rules missed
    when its probability reaches the intent's threshold; a message the model reads as an informational
    question (``info`` >= ``info_at_least``) sets aside the cues in ``informational_sets_aside`` unless the
    model itself also reads that cue's intent. A person, security or legal phrase is set aside only on the
    stricter ``protected_question_at_least`` (``info`` at least that, and the cue's own head under a tenth of its
    threshold): a question *about* the hand-over, phishing or a regulator ("how do I make the bot pass chats to a
    human agent?", "what should I do if I ever suspect a hack?"), never a request or an incident; None keeps
    every such phrase.
    """

    file: Annotated[str, Field(min_length=1)] = "intent_model.json"
    intents: dict[str, IntentHead]
    informational_sets_aside: Words = []
    info_at_least: Fraction = 0.8
    protected_question_at_least: Fraction | None = None
    one_word_person_at_least: Fraction | None = None  # a turn under min_words raises a person request at this
    topic_at_least: Fraction = 0.5
    min_words: Annotated[int, Field(ge=1, le=20)] = 2


class WidgetTrigger(Model):
    urgency: Level = "scheduled"
    at_least: Priority | None = None
    weight: Fraction = 1.0


class WidgetTriggers(Model):
    default: WidgetTrigger = WidgetTrigger()
    codes: dict[str, WidgetTrigger] = {}


def check_names(names: dict[str, object], what: str) -> None:
    """Refuse names that cannot be reason codes (they appear in the API as ``code``)."""
    for name in names:
        if not _NAME.match(name):
            raise ValueError(f"{what} name {name!r} must be lower_snake_case (a-z, 0-9, _)")
