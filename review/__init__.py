"""The review workflow: assignments and conflicts, ratings and their evidence links,
reviewers' decisions on indicator tags, consensus and independence. Knows no web request."""
