"""Domain layer: one module per concept, shared by Slack, the CLI and the jobs."""
