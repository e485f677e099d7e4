"""App Home: the live queue, my status, my open handoffs — republished when they change.

Who looks at their Home tab is a cache (users who opened it since this process started); a restart forgets
it and the next ``app_home_opened`` refills it. Republishing is debounced, and skipped for a viewer whose tab
would not change, so a burst of changes costs at most one ``views.publish`` per viewer (Tier 4).
"""

from __future__ import annotations

import asyncio
import logging

from bot.slack.calls import SlackCalls
from bot.slack.people import People
from bot.slack.render import SlackRenderer
from handoff.chat.commands import Today
from handoff.chat.surface import digest
from handoff.services.queries import Queries

log = logging.getLogger("baton.slack")
DEBOUNCE_SECONDS = 2.0


class HomePublisher:
    def __init__(self, queries: Queries, calls: SlackCalls, renderer: SlackRenderer, people: People,
                 clock: object, today: Today) -> None:
        self.queries = queries
        self.today = today
        self.calls = calls
        self.renderer = renderer
        self.people = people
        self.clock = clock
        self.viewers: set[str] = set()
        self._shown: dict[str, str] = {}  # viewer → digest of the view last published
        self._task: asyncio.Task[None] | None = None
        self._dirty = False

    async def publish(self, slack_user: str, *, force: bool = True) -> None:
        """Render and publish one user's Home tab (unless ``force`` is off and it would not change)."""
        self.viewers.add(slack_user)
        agent_id = await self.people.agent_id(slack_user)
        view = self.renderer.home(await self.queries.agent(agent_id), agent_id, await self.queries.queue(None, 25),
                                  await self.queries.held_by(agent_id, 15),
                                  await self.today())
        shown = digest(view)
        if not force and self._shown.get(slack_user) == shown:
            return
        await self.calls.publish_home(slack_user, view)
        self._shown[slack_user] = shown

    def changed(self) -> None:
        """Something on the Home tabs changed: republish every viewer's, at most once per debounce interval."""
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._flush())

    async def _flush(self) -> None:
        while self._dirty:
            await asyncio.sleep(DEBOUNCE_SECONDS)
            self._dirty = False
            for user in sorted(self.viewers):
                try:
                    await self.publish(user, force=False)
                except Exception as exc:  # a Home tab is a view, not a delivery: the next change retries
                    log.warning("App Home publish for %s failed: %s", user, exc)
                    await asyncio.sleep(min(30.0, float(getattr(exc, "retry_after", None) or 1.0)))

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
