"""The Slack app manifest in its Socket Mode form, for the set-up page: the app then connects to
Slack (SLACK_APP_TOKEN), so a laptop Slack cannot reach works; Slack refuses a Socket Mode
manifest that still names request URLs, so every one goes, and so does an unfurl domain that is
no public domain name (`localhost`, which Slack refuses too)."""
from __future__ import annotations

import yaml

SOCKET_MODE_NOTE = ("# Socket Mode: the app connects to Slack with an app-level token (SLACK_APP_TOKEN, scope\n"
                    "# connections:write), so Slack needs no URL of ours.\n")


def socket_mode(manifest: str) -> str:
    """`manifest` (YAML text, as manifest.yml is) with Socket Mode on and no request URL."""
    data = yaml.safe_load(manifest)
    for command in data.get("features", {}).get("slash_commands", []):
        command.pop("url", None)
    settings = data.setdefault("settings", {})
    settings.get("event_subscriptions", {}).pop("request_url", None)
    for url in ("request_url", "message_menu_options_url"):
        settings.get("interactivity", {}).pop(url, None)
    settings["socket_mode_enabled"] = True
    features = data.get("features", {})
    domains = [domain for domain in features.get("unfurl_domains", []) if "." in domain]
    if domains:
        features["unfurl_domains"] = domains
    else:
        features.pop("unfurl_domains", None)
    return SOCKET_MODE_NOTE + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
