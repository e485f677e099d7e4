"""Escalation intelligence: should a human take this conversation, how urgently, where, who, and why.

Pure functions over data, driven by ``config/rules.yaml``::

    rules = Rules.load("config/rules.yaml")        # RulesError names the bad path
    engine = RuleEngine(rules)
    decision = engine.evaluate(conversation, DecisionContext(now=now, agents=snapshots))

Modules: :mod:`.rules` / :mod:`.schema` (the rules file), :mod:`.text` / :mod:`.lexicon` (quoting, negation,
typos), :mod:`.analysis` / :mod:`.triggers` (signals and urgency), :mod:`.topic`, :mod:`.priority` (the one
priority function), :mod:`.routing`, :mod:`.engine`, :mod:`.corpus` (``rules test``).
"""

from handoff.decide.context import AgentSnapshot, DecisionContext
from handoff.decide.corpus import CorpusReport, CorpusRow, parse_jsonl, run_corpus
from handoff.decide.engine import RuleEngine
from handoff.decide.priority import PrioritySignals, priority_for, within_one
from handoff.decide.routing import AgentScore, rank_agents
from handoff.decide.rules import Rules, RulesError, default_rules_path

__all__ = [
    "AgentScore",
    "AgentSnapshot",
    "CorpusReport",
    "CorpusRow",
    "DecisionContext",
    "PrioritySignals",
    "RuleEngine",
    "Rules",
    "RulesError",
    "default_rules_path",
    "parse_jsonl",
    "priority_for",
    "rank_agents",
    "run_corpus",
    "within_one",
]
