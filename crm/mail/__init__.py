"""Email: messages as they go on the wire (compose) and the ways out (transport: SMTP, or the
local outbox)."""
