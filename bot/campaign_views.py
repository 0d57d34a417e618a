"""Campaign views, pure functions of their data: the new-campaign form, the campaign's message
(its progress while it sends, in its creator's conversation with the app), the list."""
from __future__ import annotations

from datetime import datetime

from bot.blocks import (
    actions, button, confirmation, context, escape, fields_sections, header, input_block, markup_field, message,
    modal, option, plain_field, plain_section, section, text_input, when,
)
from crm.campaigns.service import STATUS_LABELS, CampaignRecord, Tally

NEW = "campaign_new"
TARGET_ACTION = "campaign_target"
COUNT_BLOCK = "count"
# what each button does, and when it is offered
BUTTONS = (
    ("campaign_send", "Send now", {"draft"}, "primary"),
    ("campaign_test", "Send test to me", {"draft", "scheduled", "paused"}, None),
    ("campaign_pause", "Pause", {"scheduled", "sending"}, None),
    ("campaign_resume", "Resume", {"paused"}, None),
    ("campaign_cancel", "Cancel campaign", {"draft", "scheduled", "sending", "paused"}, "danger"),
)
ACTIONS = {"campaign_send": "schedule", "campaign_pause": "pause", "campaign_resume": "resume",
           "campaign_cancel": "cancel"}  # button -> the move of crm.campaigns.service


def new_campaign_modal(template_names: list[str], target: str = "", matching: int | None = None) -> dict:
    """The form: name, template, target filter (its count shown when Enter is pressed), send time."""
    if not template_names:
        return modal("New campaign", [plain_section(
            "There is no campaign template yet: an admin adds one in /crm settings (type “campaign”).")],
            callback_id=NEW, submit=None)
    templates = {"type": "static_select", "options": [option(name, name) for name in template_names[:100]],
                 "initial_option": option(template_names[0], template_names[0])}
    target_input = {**text_input(target, max_length=3000, placeholder="type:customer country:FR tag:retail"),
                    "action_id": TARGET_ACTION, "dispatch_action_config": {"trigger_actions_on": ["on_enter_pressed"]}}
    blocks = [
        input_block("name", "Name", text_input(max_length=255, placeholder="November newsletter"), optional=False),
        input_block("template", "Template", templates, optional=False),
        {**input_block("target", "Recipients: third parties matching", target_input,
                       hint="The filter of /crm list; empty: every third party. Press Enter to count them."),
         "dispatch_action": True},
        context(_count_text(matching)) | {"block_id": COUNT_BLOCK},
        input_block("send_at", "Send at", {"type": "datetimepicker"},
                    hint="Empty: the campaign waits as a draft until you press Send now."),
    ]
    return modal("New campaign", blocks, callback_id=NEW, submit="Create")


def _count_text(matching: int | None) -> str:
    if matching is None:
        return "Press Enter in the filter to see how many third parties it finds."
    return f"{matching:,} third part{'y' if matching == 1 else 'ies'} match."


def campaign_message(campaign: CampaignRecord, tally: Tally, *, can_change: bool) -> dict:
    """The campaign as its message shows it: status, what it sends to whom, progress, buttons."""
    counts = tally.counts
    replied = f" · {counts['replied']:,} replied" if counts.get("replied") else ""
    progress = (f"{tally.sent:,} sent of {tally.total - counts.get('skipped', 0):,}{replied}"
                f" · {counts.get('failed', 0):,} failed · {counts.get('bounced', 0):,} bounced"
                f" · {counts.get('skipped', 0):,} skipped") if tally.total else "Recipients are listed when it starts."
    fields = [plain_field("Status", STATUS_LABELS[campaign.status]),
              plain_field("Template", campaign.template_name),
              plain_field("Recipients", campaign.target or "every third party"),
              markup_field("Send at", _moment(campaign.send_at))]
    blocks = [header(campaign.name), *fields_sections(fields), plain_section(progress)]
    buttons = [button(text, action_id, str(campaign.id), style=style,
                      confirm=confirmation("Cancel the campaign?", "What is not sent yet will not be sent.",
                                           "Cancel it", "Keep it") if action_id == "campaign_cancel" else None)
               for action_id, text, statuses, style in BUTTONS if campaign.status in statuses]
    if buttons and can_change:
        blocks.append(actions(*buttons, block_id=f"campaign:{campaign.id}"))
    blocks.append(context(f"Campaign {campaign.id} · /crm campaign show {campaign.id}"))
    return message(f"Campaign {campaign.name}: {STATUS_LABELS[campaign.status].lower()}", blocks)


def summary_message(campaign: CampaignRecord, tally: Tally) -> dict:
    counts = tally.counts
    text = (f"Campaign “{campaign.name}” is {STATUS_LABELS[campaign.status].lower()}: "
            f"{tally.sent:,} sent, {counts.get('failed', 0):,} failed, "
            f"{counts.get('skipped', 0):,} skipped.")
    return message(text, [plain_section(text)])


def campaign_list(campaigns: list[CampaignRecord]) -> dict:
    if not campaigns:
        text = "No campaigns yet. /crm campaign new creates one."
        return message(text, [plain_section(text)])
    blocks = [plain_section(f"The latest {len(campaigns)} campaign{'s' if len(campaigns) != 1 else ''}")]
    for campaign in campaigns:
        line = f"{escape(campaign.name)} · {STATUS_LABELS[campaign.status]} · {_moment(campaign.send_at)}"
        blocks.append(section(line, accessory=button("Show", "campaign_show", str(campaign.id))))
    return message("Campaigns", blocks)


def _moment(moment: datetime | None) -> str:
    return when(moment) if moment else "not set"

