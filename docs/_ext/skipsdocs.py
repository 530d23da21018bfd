"""Sphinx extension of the skips docs: settings and system checks read from the source.

- ``setting`` and ``check`` cross-reference types, as in Django's own docs:
  ``.. setting:: SKIPS_TICKET_MODEL`` marks a setting's description and
  ``:setting:`SKIPS_TICKET_MODEL``` links to it; ``.. check:: skips.E001``
  and ``:check:`skips.E001``` do the same for check ids.
- ``.. skips-settings::`` renders a table of every setting in
  ``skips.conf.DEFAULTS``: its default, the comment above it in
  ``skips/conf.py`` and the check ids that report a bad value of it.
- ``.. skips-checks::`` renders every check id that ``skips/checks/`` can
  report, in id order: its level, the settings it is about, its messages and
  hints as the code writes them, and the part of the check function's
  docstring about it.

Both read the source when the docs are built, so a new setting or check id
shows up without editing the docs; a hand-written section may then be added
for it beside the generated ones.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "skips" / "conf.py"
CHECKS = ROOT / "skips" / "checks"  # a package: one module per kind of setting

CHECK_ID = re.compile(r"^skips\.([CEWID])(\d{3})$")
CHECK_ID_AT_START = re.compile(r"^(skips\.[CEWID]\d{3}):\s*")
SETTING_NAME = re.compile(r"\b(SKIPS_[A-Z0-9_]+|DATABASE_ROUTERS|NUM_PROXIES)\b")
logger = logging.getLogger(__name__)
LEVELS = {"C": "Critical", "E": "Error", "W": "Warning", "I": "Info", "D": "Debug"}


# Reading skips/conf.py


def setting_comments(path: Path = CONF) -> dict[str, str]:
    """The comment lines right above each ``"SKIPS_*":`` key of ``DEFAULTS``, joined."""
    comments: dict[str, str] = {}
    pending: list[str] = []
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    for token in tokens:
        if token.type == tokenize.COMMENT:
            pending.append(token.string.lstrip("#").strip())
        elif token.type == tokenize.STRING and token.string.strip("\"'").startswith("SKIPS_"):
            name = token.string.strip("\"'")
            if pending and name not in comments:
                comments[name] = " ".join(pending)
            pending = []
        elif token.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT):
            pending = []
    return comments


# Reading skips/checks/


@dataclass
class CheckId:
    """What ``skips/checks/`` says about one check id."""

    id: str
    functions: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    settings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def level(self) -> str:
        match = CHECK_ID.match(self.id)
        return LEVELS[match.group(1)] if match else "?"

    @property
    def sort_key(self) -> tuple[int, str]:
        match = CHECK_ID.match(self.id)
        return (int(match.group(2)), match.group(1)) if match else (10**6, self.id)


def _text(node: ast.AST | None) -> str | None:
    """A message as the code writes it, each placeholder as ``<name>``.

    ``f"{value!r} is not a rate."`` reads ``<value> is not a rate.``
    """
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.Constant):
                parts.append(str(part.value))
            elif isinstance(part, ast.FormattedValue):
                parts.append(_placeholder(part.value))
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _text(node.left), _text(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def _placeholder(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return f"<{node.id}>"
    if isinstance(node, ast.Attribute):
        return f"<{node.attr}>"
    return "<…>"


def _strings(node: ast.AST) -> list[str]:
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.append(child.value)
    return found


def _docstring_notes(docstring: str | None) -> dict[str | None, list[str]]:
    """Paragraphs by the check id they start with (``skips.E004: ...``), and the
    following ones up to the next id; those before any id under None."""
    notes: dict[str | None, list[str]] = defaultdict(list)
    if not docstring:
        return notes
    current: str | None = None
    for paragraph in re.split(r"\n\s*\n", inspect.cleandoc(docstring)):
        match = CHECK_ID_AT_START.match(paragraph)
        if match:
            current = match.group(1)
            paragraph = paragraph[match.end() :]
            paragraph = paragraph[:1].upper() + paragraph[1:]
        if paragraph.strip():
            notes[current].append(paragraph)
    return notes


def read_checks(path: Path = CHECKS) -> dict[str, CheckId]:
    """Every check id the package's modules can report, with messages, hints and settings."""
    functions = [
        node for module in sorted(path.glob("*.py")) for node in ast.parse(module.read_text()).body
    ]
    found: dict[str, CheckId] = {}

    def get(check_id: str) -> CheckId:
        return found.setdefault(check_id, CheckId(check_id))

    for function in functions:
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        ids_here: list[str] = []
        # Setting names a loop gives a call (``for name in ("SKIPS_A", "SKIPS_B"): Error(...)``).
        loop_names: dict[ast.Call, list[str]] = defaultdict(list)
        for loop in ast.walk(function):
            if isinstance(loop, ast.For) and isinstance(loop.iter, (ast.Tuple, ast.List)):
                names = [n for text in _strings(loop.iter) for n in SETTING_NAME.findall(text)]
                for statement in loop.body:
                    for inner in ast.walk(statement):
                        if isinstance(inner, ast.Call):
                            loop_names[inner] += names
        for call in ast.walk(function):
            if not isinstance(call, ast.Call):
                continue
            keywords = {kw.arg: kw.value for kw in call.keywords if kw.arg}
            id_node = keywords.get("id")
            candidates = [id_node] if id_node is not None else list(call.args)
            check_ids = [
                n.value
                for n in candidates
                if isinstance(n, ast.Constant)
                and isinstance(n.value, str)
                and CHECK_ID.match(n.value)
            ]
            for check_id in check_ids:
                entry = get(check_id)
                if check_id not in ids_here:
                    ids_here.append(check_id)
                if function.name not in entry.functions:
                    entry.functions.append(function.name)
                if id_node is not None:  # Error(msg, hint=..., id=...)
                    message = _text(call.args[0]) if call.args else _text(keywords.get("msg"))
                    hint = _text(keywords.get("hint"))
                    if message and message not in entry.messages:
                        entry.messages.append(message)
                    if hint and hint not in entry.hints:
                        entry.hints.append(hint)
                names = [n for text in _strings(call) for n in SETTING_NAME.findall(text)]
                for name in names or loop_names.get(call, []):
                    if name not in entry.settings:
                        entry.settings.append(name)
        if not ids_here:
            continue
        docstring = ast.get_docstring(function, clean=True)
        notes = _docstring_notes(docstring)
        function_settings = [
            name for text in _strings(function) for name in SETTING_NAME.findall(text)
        ]
        for check_id in ids_here:
            entry = found[check_id]
            entry.notes += notes.get(check_id, [])
            if len(ids_here) == 1:
                entry.notes += notes.get(None, [])
            if not entry.settings:
                entry.settings = list(dict.fromkeys(function_settings))
        if len(ids_here) > 1 and notes.get(None):
            first = found[ids_here[0]]
            first.notes = notes[None] + first.notes
    return dict(sorted(found.items(), key=lambda item: item[1].sort_key))


def settings_checked(checks: dict[str, CheckId]) -> dict[str, list[str]]:
    by_setting: dict[str, list[str]] = defaultdict(list)
    for entry in checks.values():
        for name in entry.settings:
            by_setting[name].append(entry.id)
    return by_setting


# Directives


def _quoted(text: str) -> str:
    """Message text as a reST literal (``...``); text with a backtick, escaped instead."""
    text = " ".join(text.split())
    if "`" not in text:
        return f"``{text}``"
    return re.sub(r"([\\`*_|])", r"\\\1", text)


class SkipsDirective(SphinxDirective):
    has_content = False

    def render(self, lines: list[str]) -> list[nodes.Node]:
        container = nodes.section() if self.with_titles else nodes.container()
        content = StringList(lines, source=f"<{self.name}>")
        if self.with_titles:
            nested_parse_with_titles(self.state, content, container)
        else:
            self.state.nested_parse(content, self.content_offset, container)
        self.env.note_dependency(str(CONF))
        for module in sorted(CHECKS.glob("*.py")):
            self.env.note_dependency(str(module))
        return list(container.children)

    with_titles = False


class SettingsTable(SkipsDirective):
    """A table of every ``SKIPS_*`` setting: name, default, what it is, its check ids."""

    def run(self) -> list[nodes.Node]:
        from skips.conf import DEFAULTS

        comments = setting_comments()
        checked = settings_checked(read_checks())
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 40 60",
            "   :class: skips-settings",
            "",
            "   * - setting and default",
            "     - meaning (from ``skips/conf.py``) and checks",
        ]
        for name, value in DEFAULTS.items():
            if value is None and name == "SKIPS_TICKET_MODEL":
                default = "required"
            elif isinstance(value, tuple):
                default = ", ".join(f"``{item.rsplit('.', 1)[-1]}``" for item in value)
            else:
                default = f"``{value!r}``"
            ids = checked.get(name, [])
            checks = (" Checked by " + ", ".join(f":check:`{i}`" for i in ids) + ".") if ids else ""
            lines += [
                f"   * - :setting:`{name}`",
                "",
                f"       default: {default}",
                f"     - {comments.get(name, '')}{checks}",
            ]
        lines.append("")
        return self.render(lines)


class ChecksList(SkipsDirective):
    """One section per check id of ``skips/checks/``, in id order.

    The directive's content adds notes to ids, one paragraph or more per id,
    each first paragraph starting with the id, as the check docstrings do::

        .. skips-checks::

           skips.E002: the message is Django's own for an unknown model...
    """

    with_titles = True
    has_content = True

    def run(self) -> list[nodes.Node]:
        checks = read_checks()
        extra = _docstring_notes("\n".join(self.content))
        for check_id in extra:
            if check_id is None or check_id not in checks:
                logger.warning(
                    "skips-checks: a note names no check id of skips/checks/: %r",
                    (extra[check_id] or [""])[0][:60],
                    location=self.get_location(),
                )
        lines: list[str] = []
        for entry in checks.values():
            entry.notes += extra.get(entry.id, [])
            title = entry.id
            lines += [f".. check:: {entry.id}", "", title, "^" * len(title), ""]
            about = ", ".join(
                f":setting:`{name}`" if name.startswith("SKIPS_") else f"``{name}``"
                for name in entry.settings
            )
            lines += [f"| **Level:** {entry.level}"]
            if about:
                lines += [f"| **About:** {about}"]
            lines += [
                "| **Check:** " + ", ".join(f"``skips.checks.{f}``" for f in entry.functions),
                "",
            ]
            for paragraph in entry.notes:
                lines += [*paragraph.splitlines(), ""]
            if entry.messages:
                lines += ["Messages:", ""]
                lines += [f"- {_quoted(message)}" for message in entry.messages]
                lines.append("")
            if entry.hints:
                lines += ["Hints:", ""]
                lines += [f"- {_quoted(hint)}" for hint in entry.hints]
                lines.append("")
        return self.render(lines)


class ChecksSummary(SkipsDirective):
    """A one-line-per-id table of the check ids."""

    def run(self) -> list[nodes.Node]:
        lines = [
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 15 12 73",
            "   :class: skips-checks",
            "",
            "   * - id",
            "     - level",
            "     - about",
        ]
        for entry in read_checks().values():
            about = ", ".join(f"``{s}``" for s in entry.settings) or "—"
            lines += [f"   * - :check:`{entry.id}`", f"     - {entry.level}", f"     - {about}"]
        lines.append("")
        return self.render(lines)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_crossref_type("setting", "setting", indextemplate="pair: %s; setting")
    app.add_crossref_type("check", "check", indextemplate="pair: %s; system check")
    app.add_directive("skips-settings", SettingsTable)
    app.add_directive("skips-checks", ChecksList)
    app.add_directive("skips-checks-summary", ChecksSummary)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
