"""Views of the files attached to third parties: the attach form, the list with a "Post here"
button per file, and what was attached. Names are plain_text: shown as typed, never markup."""
from __future__ import annotations

from bot.blocks import actions, button, context, input_block, message, modal, plain_section, when
from crm.attachments import FileRecord
from crm.filestore import MEGABYTE
from crm.records import ThirdPartyRecord

ATTACH = "file_attach"
FILE_INPUT = "file"  # the block id: the domain's ValidationError("file", …) lands next to it
POST = "file_post"
CARD_MENU = "thirdparty_files"  # the record card's menu of files: attach one, list them
MAX_FILES_PER_FORM = 10  # Slack's limit for a file_input
MAX_LISTED = 20
KILOBYTE = 1024


def card_button(thirdparty_id: int) -> dict:
    """The record card's Files button: the list, with Attach a file for those who may."""
    return button("Files", CARD_MENU, f"list:{thirdparty_id}")


def attach_modal(tp: ThirdPartyRecord, max_mb: int) -> dict:
    blocks = [
        plain_section(f"Files for {tp.name} ({tp.code}), kept in the CRM. At most {max_mb} MB each."),
        input_block(FILE_INPUT, "Files", {"type": "file_input", "max_files": MAX_FILES_PER_FORM}, optional=False),
    ]
    return modal("Attach files", blocks, callback_id=ATTACH, submit="Attach", private_metadata=str(tp.id))


def size(n: int) -> str:
    if n < KILOBYTE:
        return f"{n} bytes"
    if n < MEGABYTE:
        return f"{n / KILOBYTE:,.1f} KB"
    return f"{n / MEGABYTE:,.1f} MB"


def files_message(tp: ThirdPartyRecord, files: list[FileRecord], can_write: bool) -> dict:
    title = f"Files of {tp.name} ({tp.code})"
    attach = [actions(button("Attach a file", CARD_MENU, f"attach:{tp.id}"))] if can_write else []
    if not files:
        how = " Attach one here, or share it in the card's thread with the app mentioned." if can_write else ""
        return message(title, [plain_section(f"{title}: none yet.{how}"), *attach])
    blocks = [plain_section(title), *attach]
    for record in files[:MAX_LISTED]:
        blocks.append(plain_section(f"{record.name} · {size(record.size)}",
                                    accessory=button("Post here", POST, str(record.id))))
        blocks.append(context(f"Added {when(record.added_at)}"))
    if len(files) > MAX_LISTED:
        blocks.append(context(f"The newest {MAX_LISTED} of {len(files)} files."))
    return message(title, blocks)


def attached_text(tp: ThirdPartyRecord, files: list[FileRecord]) -> str:
    names = ", ".join(f"{f.name} ({size(f.size)})" for f in files)
    return f"Attached to {tp.name} ({tp.code}): {names}."
