"""The API's JSON renderer: DRF's JSONRenderer output, encoded by orjson.

Encoding the response was a visible share of a small API request (issue 21). orjson writes the same
compact, UTF-8 JSON as DRF's renderer with COMPACT_JSON and UNICODE_JSON; what it would write
differently goes through DRF's own encoder instead: datetimes (DRF writes UTC as "Z") and every type
orjson does not know (Decimal, lazy translations, querysets...). An indented response
(`Accept: application/json; indent=4`) and anything orjson refuses (an integer beyond 64 bits) are
rendered by DRF's renderer itself, so the bytes never depend on which encoder ran.
"""

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_NON_STR_KEYS
)
_default = JSONEncoder().default
# DRF escapes these two for JavaScript (they end a line inside a JS string literal); so do we.
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        if accepted_media_type and "indent" in accepted_media_type:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            body = orjson.dumps(data, default=_default, option=_OPTIONS)
        except (TypeError, orjson.JSONEncodeError):
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in body:
            for raw, escaped in _LINE_SEPARATORS:
                body = body.replace(raw, escaped)
        return body
