"""The surface-neutral chat layer: the ``ChatSurface`` port (:mod:`handoff.chat.surface`), the one card-delivery
service on it (:mod:`handoff.chat.delivery`) and its per-channel state (:mod:`handoff.chat.state`).

Slack and Teams implement the port (draw + talk); ``CardDelivery`` decides what goes where for both. This
package's ``__init__`` imports nothing, so :mod:`handoff.ports` can name the state repository without a cycle.
"""
