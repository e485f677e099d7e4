"""What Teams sends Baton, translated into domain calls and answered with drawings — no business rule here.

* a conversation the app joins (install, added to a team or chat) → its reference is stored for proactive posts;
* an ``Action.Execute`` on a card → claim / release / transfer / escalate / resolve / note / claim next, tagged
  ``Surface.TEAMS``; the invoke answers with the card as this agent now sees it (and, when the action was refused,
  why — e.g. who already holds it);
* a message in a card's reply chain → the agent's reply (the domain decides whether it reaches the customer);
* any other message to the bot (personal chat, or an @mention in a channel) → a command
  (``queue``, ``mine``, ``next``, ``status away|available``, ``stats``, ``help``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from microsoft_agents.activity import Activity, Attachment
from microsoft_agents.hosting.core import TurnContext

from bot.teams.adapter import CardAction, Conversation
from bot.teams.ids import Execute, Input, Verb, parse_execute
from bot.teams.render import CARD_CONTENT_TYPE, TeamsRenderer, who
from bot.teams.surface import SURFACE, TeamsSurface, person_key
from handoff.chat.commands import COMMAND_DESCRIPTIONS, COMMANDS, STATUSES, ChatCommands, CommandAnswer, parse
from handoff.chat.delivery import management_view
from handoff.errors import AlreadyClaimed, DomainError, InvalidCommand
from handoff.lifecycle import EscalationForm
from handoff.models import Actor, Agent, Surface, Tier
from handoff.services.agent_actions import AgentActions
from handoff.services.common import Deps
from handoff.services.conversation import Conversation as Chat
from handoff.services.queries import Queries
from templates import duration

log = logging.getLogger("baton.teams")
THREAD_MARK = ";messageid="


def base_conversation(conversation_id: str) -> str:
    """A channel's id without the ``;messageid=`` of one of its reply chains."""
    return conversation_id.split(THREAD_MARK, 1)[0]


def card_activity(body: dict[str, Any], text: str) -> Activity:
    return Activity(type="message", summary=text[:200],
                    attachments=[Attachment(content_type=CARD_CONTENT_TYPE, content=body)])


@dataclass
class TeamsListeners:
    """The handlers :class:`~bot.teams.adapter.TeamsBot` calls; everything they need, bundled once."""

    deps: Deps
    actions: AgentActions
    queries: Queries
    chat: Chat
    commands: ChatCommands
    surface: TeamsSurface
    renderer: TeamsRenderer

    # ------------------------------------------------------------------ people
    async def agent_id(self, aad_id: str | None, user_id: str | None, name: str | None) -> str:
        """The agent behind a Teams user: the one whose ``handles.teams`` names them, else registered now under
        their Entra object id with their Teams display name (so nobody reads a raw id)."""
        handle = aad_id or user_id
        if not handle:
            raise InvalidCommand("the activity names no user", field="from")
        found = await self.queries.agent_by_handle(SURFACE, handle)
        if found is not None:
            return found.id
        changes: dict[str, Any] = {"handles": {SURFACE: handle}}
        if name:
            changes["display_name"] = name[:200]
        await self.actions.update_agent(handle, changes)
        return handle

    async def _agents(self) -> Mapping[str, Agent]:
        return {a.id: a for a in await self.queries.agents()}

    # ------------------------------------------------------------------ conversations
    async def on_conversation(self, conversation: Conversation) -> None:
        """Remember how to reach this conversation (and, for a personal chat, the person) proactively."""
        ref = conversation.conversation_reference
        keys = [base_conversation(ref.conversation.id)]
        if (ref.conversation.conversation_type or "") == "personal" and ref.user is not None:
            keys.append(person_key(ref.user.aad_object_id or ref.user.id))
        stored = conversation.store_item_to_json()
        async with self.deps.uow() as uow:
            for key in keys:
                await uow.chat.remember(SURFACE, key, stored, self.deps.now())
            await uow.commit()
        log.info("Teams conversation remembered (%s); map a queue to it with queues.<queue>.channels.teams",
                 ref.conversation.conversation_type or "channel")

    # ------------------------------------------------------------------ card actions
    async def on_card_action(self, action: CardAction) -> dict[str, Any]:
        try:
            execute = parse_execute({"action": {"type": "Action.Execute", "verb": action.verb, "data": action.data}})
            agent = await self.agent_id(action.user_aad_id, action.user_id, action.user_name)
        except InvalidCommand as exc:
            return self.renderer.text_card("Baton could not read this action", [exc.message]).body
        notice: str | None = None
        handoff_id = execute.handoff_id
        try:
            handoff_id = await self._act(execute, agent) or handoff_id
        except AlreadyClaimed as exc:
            notice = await self._already_claimed(exc, agent)
        except DomainError as exc:
            notice = exc.message
        if handoff_id is None:  # claim next on a grouped card found nothing
            return self.renderer.text_card("Nothing claimed", [notice or "Nothing is waiting."]).body
        card = await self.queries.card(handoff_id)
        agents = await self._agents()
        if execute.verb is Verb.ACKNOWLEDGE:  # the management card stays the management card
            view = await self.queries.handoff(handoff_id)
            name = card.customer.name if card.customer and card.customer.name else None
            return self.surface.management(management_view(card, view.timeline, name), agents).body
        viewers = [a.handles[SURFACE] for a in agents.values() if a.handles.get(SURFACE)]
        return self.surface.card_for(card, agents, viewer=agent, notice=notice, refresh_users=viewers[:60]).body

    async def _act(self, ex: Execute, agent: str) -> str | None:
        """Run the card's action; returns the handoff to show (claim next: the one claimed)."""
        hid, inputs = ex.handoff_id, ex.inputs
        if ex.verb is Verb.CLAIM_NEXT:
            return (await self.actions.claim_next(ex.queue, agent, Surface.TEAMS)).id
        if hid is None:
            raise InvalidCommand("the action names no handoff", field="data")
        note = _text(inputs, Input.NOTE)
        if ex.verb is Verb.CLAIM:
            await self.actions.claim(hid, agent, Surface.TEAMS)
        elif ex.verb is Verb.RELEASE:
            await self.actions.release(hid, agent, Surface.TEAMS, "released from Teams")
        elif ex.verb is Verb.TRANSFER:
            to_queue = _text(inputs, Input.QUEUE)
            if not to_queue:
                raise InvalidCommand("choose a queue to transfer to", field=Input.QUEUE.value)
            await self.actions.transfer(hid, agent, Surface.TEAMS, to_queue=to_queue, note=note)
        elif ex.verb is Verb.ESCALATE:
            await self.actions.escalate(hid, agent, Surface.TEAMS, to_tier=_tier(inputs), form=_form(inputs))
        elif ex.verb is Verb.RESOLVE:
            await self.actions.resolve(hid, agent, Surface.TEAMS, note=note,
                                       outcome=_text(inputs, Input.OUTCOME) or "resolved",
                                       kb_gap=str(inputs.get(Input.KB_GAP.value)).lower() == "true")
        elif ex.verb is Verb.ACKNOWLEDGE:
            await self.actions.acknowledge(hid, agent, Surface.TEAMS)
        elif ex.verb is Verb.NOTE:
            if not note:
                raise InvalidCommand("a note needs some text", field=Input.NOTE.value)
            await self.actions.add_note(hid, Actor.agent(agent), Surface.TEAMS, note)
        return hid  # REFRESH: just the current card for this viewer

    async def _already_claimed(self, exc: AlreadyClaimed, agent: str) -> str:
        holder = exc.details.get("claimed_by")
        if holder == agent:
            return "You already hold this handoff."
        agents = await self._agents()
        view = await self.queries.handoff(str(exc.details.get("handoff_id")))
        h = view.handoff
        since = f" for {duration((self.deps.now() - h.claimed_at).total_seconds())}" if h.claimed_at else ""
        claimed = next((e for e in reversed(view.timeline) if e.kind.value == "claimed"), None)
        where = f" (from {claimed.source.value.title()})" if claimed is not None and claimed.source else ""
        return f"{who(str(holder), agents)} already has this one{where}{since} — thanks for jumping in."

    # ------------------------------------------------------------------ messages
    async def on_message(self, context: TurnContext) -> str | Activity | None:
        activity = context.activity
        text = (activity.text or "").strip()
        sender = activity.from_property
        conversation_id = activity.conversation.id if activity.conversation else ""
        if not text or sender is None:
            return None
        agent = await self.agent_id(sender.aad_object_id, sender.id, sender.name)
        if THREAD_MARK in conversation_id:  # a reply in a card's reply chain
            channel, root = conversation_id.split(THREAD_MARK, 1)
            where = f"{channel}:{root}"
            handoff_id = (await self.queries.handoff_for_ref(SURFACE, "card", where)
                          or await self.queries.handoff_for_ref(SURFACE, "card_previous", where))
            if handoff_id is not None:
                await self.chat.agent_reply(handoff_id, agent, text, Surface.TEAMS)
                return None  # the thread shows what happened (sent, or kept internal with the reason)
        name, arg = parse(text)
        answer = await self.commands.run(name, arg, agent, Surface.TEAMS)
        return self._answer(answer, base_conversation(conversation_id))

    def _answer(self, answer: CommandAnswer, conversation_id: str) -> Activity:
        r = self.renderer
        if answer.kind in ("queue", "mine"):
            drawn = r.queue_list(answer.title, answer.handoffs, answer.message or "")
        elif answer.kind == "claimed" and answer.handoff is not None:
            h = answer.handoff
            drawn = r.text_card("Claimed", [f"You hold {h.id}: {h.summary or h.why}"],
                                note="Its card shows you as the holder; reply in the card's thread to talk to the "
                                     "customer.")
        elif answer.kind == "refused":
            usage = f"status {'|'.join(STATUSES)}" if answer.title == "Usage" else answer.message
            drawn = r.text_card(answer.title, [str(usage)])
        elif answer.kind == "status":
            drawn = r.text_card(answer.title, ["Routing and wait estimates use it from now on."])
        elif answer.kind == "stats":
            drawn = r.stats(answer.title, answer.stats)
        else:
            drawn = r.text_card("Baton commands", [
                *(f"{name}: {COMMAND_DESCRIPTIONS[name]}" for name in COMMANDS),
                "On a card: Claim to take it; reply in its thread to talk to the customer (start with note: to keep "
                "a reply internal)."], note=f"This conversation's id, for queues.<queue>.channels.teams: "
                                            f"{conversation_id}")
        return card_activity(drawn.body, drawn.text)


def _text(inputs: Mapping[str, Any], field: Input) -> str | None:
    value = inputs.get(field.value)
    return str(value).strip()[:3000] or None if value is not None else None


def _tier(inputs: Mapping[str, Any]) -> Tier | None:
    raw = _text(inputs, Input.TIER)
    try:
        return Tier(raw) if raw else None
    except ValueError:
        raise InvalidCommand(f"unknown tier {raw!r}", field=Input.TIER.value) from None


def _form(inputs: Mapping[str, Any]) -> EscalationForm:
    summary = _text(inputs, Input.SUMMARY)
    if not summary:
        raise InvalidCommand("the issue summary is required", field=Input.SUMMARY.value)
    steps = [s.strip()[:3000] for s in (_text(inputs, Input.STEPS) or "").splitlines() if s.strip()]
    return EscalationForm(summary=summary, steps_taken=tuple(steps[:50]), hypothesis=_text(inputs, Input.HYPOTHESIS),
                          customer_impact=_text(inputs, Input.IMPACT),
                          warm=str(inputs.get(Input.WARM.value, "true")).lower() == "true")
