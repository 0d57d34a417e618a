"""Slack side: the /crm command, modals, shortcuts and event handlers."""
