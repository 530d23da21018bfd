"""Renderers of the skips views: JSON, and the browsable API for a logged-in user."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.renderers import BrowsableAPIRenderer


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
