"""HubSpot, wired from settings: ``hubspot_integration(settings, rt)`` (None when not configured).

Configuration (environment): ``HUBSPOT_ACCESS_TOKEN`` (private app with the ``crm.objects.contacts``,
``tickets``, ``crm.objects.companies.read`` and ``crm.schemas.*`` scopes), ``HUBSPOT_API_URL`` (base URL
override), ``HUBSPOT_PIPELINE`` (default ``0``), ``HUBSPOT_STAGE_MAP`` / ``HUBSPOT_PRIORITY_MAP`` (JSON:
Baton status → stage id, Baton priority → ``hs_ticket_priority``), ``HUBSPOT_CLOSED_STAGES`` (comma-separated
stage ids that mean closed, for inbound polling), ``CRM_POLL_SECONDS`` (0 = off). Baton creates the ticket
property ``baton_handoff_id``, the note property ``baton_event_key`` and the contact properties
``last_escalation_date``, ``total_escalations``, ``avg_escalation_csat`` at first use if they are missing.
"""

from __future__ import annotations

from typing import Any

from handoff.services.enrichment import EnrichmentDestination
from integrations.crm.inbound import ClosedCasePoller
from integrations.crm.integration import CrmIntegration
from integrations.crm.sync import CaseSyncDestination, SyncTuning
from integrations.hubspot.client import HubSpotGateway
from integrations.hubspot.directory import HubSpotDirectory
from integrations.hubspot.sink import HubSpotCaseSink, HubSpotTicketConfig


def hubspot_integration(settings: Any, rt: Any) -> CrmIntegration | None:
    """Ticket sync + enrichment (+ closed-ticket polling) for HubSpot; None when not configured."""
    if settings.hubspot_access_token is None:
        return None
    gateway = HubSpotGateway(settings.hubspot_access_token.get_secret_value(), settings.hubspot_api_url,
                             timeout=settings.crm_call_timeout_seconds)
    closed = frozenset(s.strip() for s in settings.hubspot_closed_stages.split(",") if s.strip())
    sink = HubSpotCaseSink(gateway, HubSpotTicketConfig(
        pipeline=settings.hubspot_pipeline, stage_map=settings.hubspot_stage_map,
        priority_map=settings.hubspot_priority_map, closed_stages=closed))
    tuning = SyncTuning(outage_pause_seconds=settings.crm_outage_pause_seconds, reconcile=False)
    sync = CaseSyncDestination("hubspot", rt.deps, sink, tuning)
    enrich = EnrichmentDestination(rt.deps, HubSpotDirectory(gateway, closed, settings.crm_lookup_timeout_seconds),
                                   timeout_seconds=settings.crm_lookup_timeout_seconds,
                                   owner_agents=settings.crm_owner_agents,
                                   outage_pause_seconds=settings.crm_outage_pause_seconds)
    poller = ClosedCasePoller("hubspot", rt.deps, rt.actions, sink.closed_since, settings.crm_poll_seconds) \
        if settings.crm_poll_seconds > 0 else None
    if poller is not None and rt.ticks is not None:  # one scheduler per process; the watermark row picks who polls
        rt.ticks.add(f"{poller.system}-inbound", poller.interval, poller.tick)

    def health() -> tuple[bool, str]:
        return True, f"degraded: {gateway.last_error}" if gateway.last_error else "ok"

    def check(timeout: float) -> str:
        pipelines = gateway.call(lambda c: c.crm.pipelines.pipelines_api.get_all(
            "tickets", _request_timeout=timeout)).results
        return f"{len(pipelines)} ticket pipeline(s), using {settings.hubspot_pipeline!r}"

    return CrmIntegration(name="hubspot", destinations=[enrich, sync], health=health, poller=poller,
                          extras={"gateway": gateway, "sink": sink}, check=check)
