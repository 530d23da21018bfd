"""What goes in and out of the skips views: JSON (and the browsable API for a person)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, cast

import orjson
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.settings import APISettings
from rest_framework.utils.encoders import JSONEncoder

_LINE_SEPARATORS = (("\u2028".encode(), b"\\u2028"), ("\u2029".encode(), b"\\u2029"))
_ANY_LINE_SEPARATOR = re.compile(b"\xe2\x80[\xa8\xa9]")


class SkipsJSONRenderer(JSONRenderer):
    """Compact UTF-8 JSON, the bytes REST framework's renderer would give, with orjson.

    Whatever orjson cannot encode the same way (an indent, an integer past 64
    bits) goes through REST framework's own renderer.
    """

    ensure_ascii = False
    compact = True

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        if data is None:
            return b""
        indent = self.get_indent(accepted_media_type or "", renderer_context or {})
        if indent is not None:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            out = orjson.dumps(
                data,
                default=_DEFAULT,
                option=orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
            )
        except (TypeError, orjson.JSONEncodeError):
            return super().render(data, accepted_media_type, renderer_context)
        # As REST framework does: JSON that is also a strict JavaScript subset.
        # Both separators start with the byte E2: memchr finds none in most pages
        # (quicker than a regular expression's scan); else one search for either.
        if b"\xe2" in out and _ANY_LINE_SEPARATOR.search(out):
            for raw, escaped in _LINE_SEPARATORS:
                out = out.replace(raw, escaped)
        return out


_DEFAULT = JSONEncoder().default


class SkipsBrowsableAPIRenderer(BrowsableAPIRenderer):
    """The browsable API, whose POST form holds the ``{"skip": {...}}`` envelope.

    Only the raw JSON form is offered: the API takes JSON bodies, not forms.
    """

    example_body = {"skip": {"ticket_id": None, "reason": ""}}

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        return None

    def get_raw_data_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        form = super().get_raw_data_form(data, view, method, request)
        if form is not None and method == "POST":
            form.fields["_content"].initial = json.dumps(self.example_body, indent=4)
        return form


class SkipsJSONParser(JSONParser):
    """REST framework's JSON parser; JSON nested too deep to parse is a 400, not a 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as e:
            raise ParseError("JSON parse error - the body is nested too deeply") from e


class SkipsContentNegotiation(DefaultContentNegotiation):
    """Negotiation by ``Accept`` and the ``.json`` suffix; a ``format`` query parameter is
    an ordinary (ignored) parameter, as on the reference service."""

    # REST framework's own switch: no query parameter overrides the format.
    settings = APISettings(user_settings=cast(Any, {"URL_FORMAT_OVERRIDE": None}))  # type: ignore[assignment]

    def select_renderer(
        self, request: Any, renderers: Iterable[Any], format_suffix: str | None = None
    ) -> tuple[Any, str]:
        """REST framework's choice, remembered for the ``Accept`` headers and
        suffixes most requests send: it depends on nothing else (no query
        parameter here). A short list of short headers only: clients choose them."""
        renderers = list(renderers)
        header = request.META.get("HTTP_ACCEPT", "*/*")
        key = None
        if (
            len(header) <= _MAX_REMEMBERED_ACCEPT
            and self.settings.URL_FORMAT_OVERRIDE is None
            and type(self).get_accept_list is DefaultContentNegotiation.get_accept_list
        ):
            key = (
                type(self),
                format_suffix,
                header,
                tuple((type(r), r.media_type, r.format) for r in renderers),
            )
            known = _NEGOTIATED.get(key)
            if known is not None:
                # REST framework's negotiation reads the query string (for a format
                # parameter): too many fields there is a 400 here too, whatever the method.
                request.query_params  # noqa: B018
                index, media_type = known
                return renderers[index], media_type
        renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        if key is not None and len(_NEGOTIATED) < _MAX_NEGOTIATED:
            _NEGOTIATED[key] = (renderers.index(renderer), media_type)
        return renderer, media_type


#: The renderer (its index) and media type chosen, by negotiation, suffix,
#: Accept header and renderers; at most _MAX_NEGOTIATED, of short headers only.
_NEGOTIATED: dict[tuple[Any, ...], tuple[int, str]] = {}
_MAX_NEGOTIATED = 128
_MAX_REMEMBERED_ACCEPT = 200
