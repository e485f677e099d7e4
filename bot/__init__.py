"""Edges people touch: chat surfaces (Slack, Teams) and the web (API, widget, dashboard)."""
