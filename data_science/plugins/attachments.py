"""Files attached to a chat message go through the same intake as `/api/uploads`.

ADK clients (`adk web`'s paperclip, `/run` and `/run_sse` callers) send files as `inline_data`
parts. Before the message is stored or shown to a model, each such part is written to
quarantine, checked and registered exactly like an upload, and replaced by a short text
reference: the accepted file's name, id and shape, or the reason it was refused. Raw bytes never
reach the session store or a model request.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from google.adk.agents.invocation_context import InvocationContext
from google.adk.plugins.base_plugin import BasePlugin
from google.genai import types

from data_science.config import Settings
from data_science.intake.pipeline import AcceptedUpload, UploadPipeline
from data_science.intake.validators import UploadRejected
from data_science.llm.model_view import clean_text, quote
from data_science.observability.audit import audit_log
from data_science.prompts import ATTACHMENT_MARKER
from data_science.runtime.threads import run_blocking

DEFAULT_NAME = "attachment"
MAX_REASON_CHARACTERS = 300


class AttachmentIntakePlugin(BasePlugin):
    """Replaces every `inline_data` part of a user message with the intake's verdict on it."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(name="attachment_intake")
        self.settings = settings

    async def on_user_message_callback(
        self, *, invocation_context: InvocationContext, user_message: types.Content
    ) -> types.Content | None:
        parts = user_message.parts or []
        if not any(part.inline_data for part in parts):
            return None
        settings = self.settings
        pipeline = UploadPipeline(settings, audit_log(settings))
        total = sum(len(part.inline_data.data or b"") for part in parts if part.inline_data)
        replaced = []
        for part in parts:
            if part.inline_data is None:
                replaced.append(part)
                continue
            name = attachment_name(part.inline_data)
            if total > settings.MAX_UPLOAD_BYTES:
                verdict = refusal(
                    name,
                    "the attachments of this message are larger than the "
                    f"limit of {settings.MAX_UPLOAD_BYTES:,} bytes in total",
                )
            else:
                verdict = await run_blocking(
                    take_in,
                    pipeline,
                    part.inline_data.data or b"",
                    name,
                    invocation_context.user_id,
                    invocation_context.session.id,
                )
            replaced.append(types.Part(text=verdict))
        return types.Content(role=user_message.role, parts=replaced)


def attachment_name(blob: types.Blob) -> str:
    """The client's file name; without one, a name whose extension follows the declared type.

    The declared type only names the file: its content must still match, as for any upload.
    """
    if blob.display_name:
        return blob.display_name
    extension = mimetypes.guess_extension(blob.mime_type or "") or ""
    return f"{DEFAULT_NAME}{extension}"


def take_in(pipeline: UploadPipeline, data: bytes, name: str, user_id: str, session_id: str) -> str:
    """Run one attachment through the upload pipeline; describe the outcome in one line."""
    try:
        return acceptance(pipeline.accept_bytes(data, name, user_id, session_id))
    except UploadRejected as rejection:
        return refusal(name, rejection.message)


def acceptance(upload: AcceptedUpload) -> str:
    """One line for the model and the person: what the file became, with its id and shape."""
    summary = upload.summary
    if upload.kind == "archive":
        parts = [
            f"{quote(member['filename'])} as {_describe(member)}" for member in summary["extracted"]
        ]
        skipped = [
            f"{quote(item['name'])} ({clean_text(item['reason'], MAX_REASON_CHARACTERS)})"
            for item in summary["skipped"]
        ]
        text = f"was received as archive {upload.file_id}; extracted {', '.join(parts)}"
        text += f"; skipped {', '.join(skipped)}." if skipped else "."
    else:
        text = f"was received as {_describe({'file_id': upload.file_id, **summary})}."
    return f"{ATTACHMENT_MARKER} The file {quote(upload.filename)} {text}"


def _describe(item: dict[str, Any]) -> str:
    """A stored item's id and shape; names are quoted, as they are data, not instructions."""
    if "rows" in item:
        columns = ", ".join(f"{quote(c['name'])} ({c['type']})" for c in item.get("columns", []))
        return f"dataset {item['file_id']} ({item['rows']} rows; columns: {columns})"
    return f"image {item['file_id']} ({item['width']}x{item['height']} thumbnail)"


def refusal(name: str, reason: str) -> str:
    return (
        f"{ATTACHMENT_MARKER} The file {quote(name)} was refused: "
        f"{clean_text(reason, MAX_REASON_CHARACTERS)}"
    )
