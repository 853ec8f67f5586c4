"""`POST /api/uploads`: a multipart upload streamed straight into quarantine.

The body is parsed as it arrives (python-multipart's streaming parser), so the file part is
written to disk chunk by chunk and the size limit holds even without a Content-Length header.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from data_science.config import APP_NAME
from data_science.intake.pipeline import QuarantineFile, UploadPipeline
from data_science.intake.validators import UploadRejected
from data_science.observability.logging import bind_request_context
from data_science.runtime.threads import run_blocking
from data_science.server.auth import request_user
from data_science.server.responses import error_response

router = APIRouter()
MAX_FIELD_BYTES = 1024
MAX_FIELDS = 10
# Multipart framing and form fields add a little to the file's own size.
ENVELOPE_ALLOWANCE = 64 * 1024
# The route reads its form itself (streaming), so FastAPI cannot infer the body: declare it, for
# the OpenAPI description and for the auth middleware, which lets form bodies through only to
# routes that take a form (auth.form_routes).
UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "session_id"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "session_id": {"type": "string"},
                        "user_id": {
                            "type": "string",
                            "description": "Ignored when authentication is on: the "
                            "credential's user is used.",
                        },
                    },
                }
            }
        },
    }
}


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    value: bytearray = field(default_factory=bytearray)


class StreamingForm:
    """Collects small text fields in memory and streams the one file part to quarantine.

    With authentication on, `user_id` is the credential's user and the form's field is ignored.
    """

    def __init__(
        self, pipeline: UploadPipeline, boundary: bytes, authenticated_user: str | None = None
    ) -> None:
        self.pipeline = pipeline
        self.authenticated_user = authenticated_user
        self.fields: dict[str, str] = {"user_id": authenticated_user} if authenticated_user else {}
        self.filename: str | None = None
        self.file: QuarantineFile | None = None
        self._part = _Part()
        self._header_field = bytearray()
        self._header_value = bytearray()
        self._headers: dict[str, bytes] = {}
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": lambda data, start, end: self._header_field.extend(
                    data[start:end]
                ),
                "on_header_value": lambda data, start, end: self._header_value.extend(
                    data[start:end]
                ),
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )

    def _on_part_begin(self) -> None:
        self._part = _Part()
        self._headers = {}

    def _on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition", b""))
        self._part.name = options.get(b"name", b"").decode("utf-8", "replace")
        raw_filename = options.get(b"filename")
        if raw_filename is None:
            if len(self.fields) >= MAX_FIELDS:
                raise UploadRejected(400, "too_many_fields", "The form has too many fields.")
            return
        if self.file is not None:
            raise UploadRejected(400, "one_file_only", "Send one file per upload request.")
        self.filename = raw_filename.decode("utf-8", "replace")
        self._part.filename = self.filename
        self.pipeline.check_name(self.filename)
        self.file = self.pipeline.open_quarantine()

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._part.filename is not None and self.file is not None:
            self.file.write(memoryview(data)[start:end])  # copied once, into its buffer
            return
        self._part.value.extend(data[start:end])
        if len(self._part.value) > MAX_FIELD_BYTES:
            raise UploadRejected(
                400, "field_too_long", f"The form field '{self._part.name}' is too long."
            )

    def _on_part_end(self) -> None:
        if self._part.name == "user_id" and self.authenticated_user:
            return
        if self._part.filename is None:
            self.fields[self._part.name] = self._part.value.decode("utf-8", "replace").strip()

    def discard(self) -> None:
        if self.file is not None:
            self.file.discard()


async def _drain(chunks: AsyncIterator[bytes], limit: int) -> None:
    """Read (and drop) what the client is still sending, so it can read our answer."""
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            break


@router.post("/api/uploads", status_code=201, openapi_extra=UPLOAD_BODY)
async def upload(request: Request) -> JSONResponse:
    """Receive one file with `user_id` and `session_id`; answer with its id and summary."""
    pipeline: UploadPipeline = request.app.state.pipeline
    settings = pipeline.settings
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data" or b"boundary" not in options:
        return error_response(
            400,
            "not_multipart",
            "Send the file as multipart/form-data with fields file, user_id and session_id.",
        )
    declared = request.headers.get("content-length")
    if (
        declared
        and declared.isdigit()
        and int(declared) > settings.MAX_UPLOAD_BYTES + ENVELOPE_ALLOWANCE
    ):
        rejection = UploadRejected(
            413,
            "file_too_large",
            f"The upload is larger than the limit of {settings.MAX_UPLOAD_BYTES:,} bytes "
            "(MAX_UPLOAD_BYTES).",
        )
        await run_blocking(
            pipeline.record_rejection,
            rejection,
            "(not received)",
            "(unknown)",
            int(declared),
            received=False,
        )
        return error_response(rejection.status, rejection.code, rejection.message)

    form = StreamingForm(pipeline, options[b"boundary"], request_user(request))
    chunks = request.stream()
    try:
        async for chunk in chunks:
            form.parser.write(chunk)
            if form.file is not None:
                await form.file.spill()
        form.parser.finalize()
        if form.file is not None:
            await form.file.finish()
    except UploadRejected as rejection:
        size = form.file.size if form.file else 0
        form.discard()
        bind_request_context(
            settings, user_id=form.fields.get("user_id"), session_id=form.fields.get("session_id")
        )
        await run_blocking(
            pipeline.record_rejection,
            rejection,
            form.filename or "(no name)",
            form.fields.get("user_id", "(unknown)"),
            size,
        )
        await _drain(chunks, settings.MAX_UPLOAD_BYTES)
        return error_response(rejection.status, rejection.code, rejection.message)
    except FormParserError as error:
        form.discard()
        return error_response(
            400,
            "malformed_multipart",
            f"The multipart body could not be parsed ({error}); send a standard "
            "multipart/form-data form with fields file, user_id and session_id.",
        )
    except BaseException:
        form.discard()  # a dropped connection or a cancelled request: nothing stays behind
        raise
    return await _finish(request, pipeline, form)


async def _finish(request: Request, pipeline: UploadPipeline, form: StreamingForm) -> JSONResponse:
    user_id, session_id = form.fields.get("user_id"), form.fields.get("session_id")
    bind_request_context(pipeline.settings, user_id=user_id, session_id=session_id)
    if form.file is None or not form.filename:
        form.discard()
        return error_response(400, "missing_file", "The form has no file part named 'file'.")
    if not user_id or not session_id:
        form.discard()
        return error_response(400, "missing_field", "The form needs user_id and session_id fields.")
    try:
        session = await request.app.state.session_service.get_session(
            app_name=APP_NAME, user_id=user_id, session_id=session_id
        )
    except BaseException:
        form.discard()  # the store failed (answered 503): the received bytes must not stay
        raise
    if session is None:
        form.discard()
        return error_response(
            404,
            "unknown_session",
            "No such session for this user. Create one first: "
            f"POST /apps/{APP_NAME}/users/<user_id>/sessions.",
        )
    try:
        accepted = await run_blocking(
            pipeline.accept, form.file, form.filename, user_id, session_id
        )
    except UploadRejected as rejection:
        return error_response(rejection.status, rejection.code, rejection.message)
    body: dict[str, Any] = accepted.as_response()
    return JSONResponse(body, status_code=201)
