"""The API's JSON parser: DRF's, refusing what would otherwise surface as a 500 further in."""

import io
import re

from django.utils.translation import gettext as _
from rest_framework import parsers
from rest_framework.exceptions import ParseError, ValidationError

# PostgreSQL refuses NUL in text, and a lone UTF-16 surrogate cannot be encoded for it at all. In
# JSON both can only arrive as \u escapes, so a byte search over the raw body (C speed, well under
# a microsecond for a POS body) tells whether the parsed data needs looking at.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")


class JSONParser(parsers.JSONParser):
    """JSON bodies: nesting deep enough to exhaust Python's recursion limit is a parse error, and
    text PostgreSQL cannot store (NUL characters, unpaired surrogates) is refused with a 400 that
    names the top-level field carrying it."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read()
        try:
            data = super().parse(io.BytesIO(raw), media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the document is nested too deeply.")) from None
        if b"\\u" in raw and _SUSPECT_ESCAPE.search(raw):
            _refuse_unstorable_text(data)
        return data


def _unstorable(text: str) -> str | None:
    if "\x00" in text:
        return _("Null characters are not allowed.")
    if not text.isascii():
        try:
            text.encode()
        except UnicodeEncodeError:
            return _("Text must be valid Unicode (no unpaired surrogates).")
    return None


def _refuse_unstorable_text(data) -> None:
    """Walks the parsed document without recursion (it may be nested hundreds deep)."""
    pending = [(None, data)]
    while pending:
        field, value = pending.pop()
        if isinstance(value, str):
            message = _unstorable(value)
        elif isinstance(value, dict):
            message = next(filter(None, map(_unstorable, value)), None)
            pending.extend((field or key, item) for key, item in value.items())
        elif isinstance(value, list):
            message = None
            pending.extend((field, item) for item in value)
        else:
            message = None
        if message:
            raise ValidationError({field or "non_field_errors": [message]})
