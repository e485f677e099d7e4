"""Salesforce, wired from settings: ``salesforce_integration(settings, rt)`` (None when not configured).

Configuration (environment): ``SALESFORCE_INSTANCE_URL`` + ``SALESFORCE_ACCESS_TOKEN``, or
``SALESFORCE_USERNAME``/``_PASSWORD``/``_SECURITY_TOKEN`` (+ ``_DOMAIN=test`` for sandboxes, re-login on
expiry); ``SALESFORCE_EXTERNAL_ID_FIELD`` (default ``Baton_Handoff_Id__c``: a unique external-id text field on
Case), ``SALESFORCE_TIMELINE`` (``comments`` or ``feed``), ``SALESFORCE_CASE_ORIGIN`` (default ``Chat``; add it
to the Case Origin picklist), ``SALESFORCE_STATUS_MAP``/``SALESFORCE_PRIORITY_MAP`` (JSON),
``SALESFORCE_LIMIT_THRESHOLD``/``SALESFORCE_LIMIT_PAUSE_SECONDS`` (stop before the daily allowance is spent),
``CRM_POLL_SECONDS`` (resolve handoffs whose Case was closed in Salesforce; 0 = off).
"""

from __future__ import annotations

from typing import Any

from handoff.services.enrichment import EnrichmentDestination
from integrations.crm.inbound import ClosedCasePoller
from integrations.crm.integration import CrmIntegration
from integrations.crm.sync import CaseSyncDestination, SyncTuning
from integrations.salesforce.client import SalesforceCredentials, SalesforceGateway
from integrations.salesforce.directory import SalesforceDirectory
from integrations.salesforce.sink import SalesforceCaseConfig, SalesforceCaseSink


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None


def credentials(settings: Any) -> SalesforceCredentials | None:
    """The credentials in settings, or None when Salesforce is not configured."""
    creds = SalesforceCredentials(
        instance_url=settings.salesforce_instance_url, access_token=_secret(settings.salesforce_access_token),
        username=settings.salesforce_username, password=_secret(settings.salesforce_password),
        security_token=_secret(settings.salesforce_security_token), domain=settings.salesforce_domain,
        version=settings.salesforce_api_version,
    )
    if creds.can_login or (creds.instance_url and creds.access_token):
        return creds
    return None


def salesforce_integration(settings: Any, rt: Any) -> CrmIntegration | None:
    """Case sync + enrichment (+ closed-case polling) for Salesforce; None when not configured."""
    creds = credentials(settings)
    if creds is None:
        return None
    gateway = SalesforceGateway(creds, timeout=settings.crm_call_timeout_seconds,
                                limit_pause=settings.salesforce_limit_pause_seconds,
                                limit_threshold=settings.salesforce_limit_threshold)
    sink = SalesforceCaseSink(gateway, SalesforceCaseConfig(
        external_id_field=settings.salesforce_external_id_field, timeline=settings.salesforce_timeline,
        origin=settings.salesforce_case_origin, status_map=settings.salesforce_status_map,
        priority_map=settings.salesforce_priority_map))
    tuning = SyncTuning(outage_pause_seconds=settings.crm_outage_pause_seconds, reconcile=True, contact_stats=False)
    sync = CaseSyncDestination("salesforce", rt.deps, sink, tuning)
    enrich = EnrichmentDestination(rt.deps, SalesforceDirectory(gateway, settings.crm_lookup_timeout_seconds),
                                   timeout_seconds=settings.crm_lookup_timeout_seconds,
                                   owner_agents=settings.crm_owner_agents,
                                   outage_pause_seconds=settings.crm_outage_pause_seconds)
    poller = ClosedCasePoller("salesforce", rt.deps, rt.actions, sink.closed_since, settings.crm_poll_seconds) \
        if settings.crm_poll_seconds > 0 else None
    if poller is not None and rt.ticks is not None:  # one scheduler per process; the watermark row picks who polls
        rt.ticks.add(f"{poller.system}-inbound", poller.interval, poller.tick)

    def health() -> tuple[bool, str]:
        usage = f", API usage {gateway.last_usage[0]}/{gateway.last_usage[1]}" if gateway.last_usage else ""
        return True, (f"degraded: {gateway.last_error}" if gateway.last_error else "ok") + usage

    def check(timeout: float) -> str:
        limits = gateway.call(lambda sf: sf.limits(timeout=timeout))
        daily = limits.get("DailyApiRequests") or {}
        left = f", {daily.get('Remaining')}/{daily.get('Max')} daily API requests left" if daily else ""
        return f"API v{gateway.version}{left}"

    return CrmIntegration(name="salesforce", destinations=[enrich, sync], health=health, poller=poller,
                          extras={"gateway": gateway, "sink": sink}, check=check)
