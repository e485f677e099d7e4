"""What card delivery remembers per channel, in the database: the live burst group and the notices sent.

Nothing here lives only in memory, so a restart (or a second dispatcher process) continues the same burst
group and does not warn a queue lead twice about the same broken channel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ChatGroup:
    """The grouped card of a burst in one channel."""

    message_id: str
    queue: str
    first_at: datetime
    last_at: datetime
    dirty: bool = False  # its handoffs changed since the grouped card was last drawn

    def key(self, channel: str) -> str:
        """The external id every member's card ref carries while it is shown on this grouped card."""
        return f"group:{channel}:{self.message_id}"


class ChatStateRepository(Protocol):
    async def arrivals(self, queues: Sequence[str], since: datetime, until: datetime) -> int:
        """How many handoffs of these queues were created in ``[since, until]`` (the burst counter)."""
        ...

    async def group(self, surface: str, channel: str, *, lock: bool = False) -> ChatGroup | None:
        """The channel's group (None if it never had one); ``lock`` holds the channel's row until commit."""
        ...

    async def save_group(self, surface: str, channel: str, group: ChatGroup, now: datetime) -> None: ...

    async def group_members(self, surface: str, group_key: str, limit: int) -> Sequence[str]:
        """Handoff ids shown on a grouped card, in arrival order (the newest ``limit``)."""
        ...

    async def first_notice(self, surface: str, channel: str, error: str, now: datetime) -> bool:
        """Record that the lead was told ``channel`` fails with ``error``; False if that was already done."""
        ...

    async def remember(self, surface: str, key: str, reference: Mapping[str, Any], now: datetime) -> None:
        """Store how to reach a conversation proactively (replacing an older reference for the same key)."""
        ...

    async def reference(self, surface: str, key: str) -> Mapping[str, Any] | None: ...

    async def forget(self, surface: str, key: str) -> None:
        """The app was removed from the conversation: no more proactive posts there."""
        ...
