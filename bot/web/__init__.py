"""The HTTP edge: the ``/v1`` API, health checks, and (later) SSE, the widget and the dashboard."""
