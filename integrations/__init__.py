"""Outbound integrations (CRMs, customer webhooks) implementing the domain's ports."""
