"""Slack's rates for the shared :class:`~handoff.chat.pacing.Pacer`: per channel for posts, per workspace else."""

from __future__ import annotations

import time
from collections.abc import Callable

from handoff.chat.pacing import Pacer

#: chat.postMessage: about one message per second per channel, short bursts tolerated.
POST_PER_CHANNEL = (1.0, 3.0)
#: chat.update: Tier 3, ~50 calls a minute per workspace (all channels together).
UPDATE_TIER3 = (50 / 60, 10.0)
#: views.publish: Tier 4, ~100 a minute.
PUBLISH_TIER4 = (100 / 60, 10.0)


class Pacers:
    """One pacer per channel for posts, one per workspace for updates and Home publishes."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._posts: dict[str, Pacer] = {}
        self.update = Pacer(*UPDATE_TIER3, clock=clock)
        self.publish = Pacer(*PUBLISH_TIER4, clock=clock)

    def post(self, channel: str) -> Pacer:
        pacer = self._posts.get(channel)
        if pacer is None:
            pacer = self._posts[channel] = Pacer(*POST_PER_CHANNEL, clock=self.clock)
        return pacer
