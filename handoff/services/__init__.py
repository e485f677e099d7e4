"""Use cases, grouped by who calls them: intake (the AI widget), agent actions, queries, the dispatcher."""
