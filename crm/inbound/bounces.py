"""Delivery status notifications about campaign emails (RFC 3464, issue 9 item 5): the recipient
is marked `bounced` with the reported status; a permanent failure (5.x.x) puts the address on
the opt-out list with the reason, so that later campaigns skip it; the third party gets a
CAMPAIGN_BOUNCE event. A bounce is not customer mail: it is never logged as EMAIL_IN."""
from __future__ import annotations

from crm import agenda
from crm.context import Context
from crm.inbound.parsing import Bounce
from crm.mail import unsubscribe
from crm.permissions import SYSTEM
from models import Campaign, CampaignRecipient


async def record(ctx: Context, bounce: Bounce) -> bool:
    """Record what `bounce` reports of a campaign email, in the transaction open in `ctx` if any
    (the listener's, which also records the email's fate); False when it names none of ours (or
    says it was delivered after all)."""
    if bounce.action not in ("failed", "delayed") or not bounce.original_message_id:
        return False
    async with ctx.transaction() as uow:
        recipient = await CampaignRecipient.filter(message_id=bounce.original_message_id).using_db(
            uow.connection).select_for_update().first()
        if recipient is None:
            return False
        reason = f"{bounce.action}, status {bounce.status} reported for {bounce.recipient or recipient.address}"
        if bounce.permanent:
            recipient.status, recipient.reason = "bounced", reason
            await recipient.save(using_db=uow.connection, update_fields=["status", "reason"])
        if recipient.thirdparty_id is not None:
            name = await Campaign.filter(id=recipient.campaign_id).using_db(uow.connection).values_list(
                "name", flat=True)
            await agenda.record(uow, "CAMPAIGN_BOUNCE", SYSTEM, recipient.thirdparty_id,
                                f"Campaign “{name[0] if name else recipient.campaign_id}” to {recipient.address} "
                                f"{'bounced' if bounce.permanent else 'delayed'} ({bounce.status})",
                                contact_id=recipient.contact_id,
                                details={"campaign_id": recipient.campaign_id, "status": bounce.status,
                                         "action": bounce.action, "permanent": bounce.permanent})
        if bounce.permanent:
            await unsubscribe.opt_out(recipient.address, f"bounced: {reason}", uow.now)
    return True
