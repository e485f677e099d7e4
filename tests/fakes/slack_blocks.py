"""Block Kit validation against the documented limits in ``tests/conformance/slack/block-kit-limits.json``.

No official Block Kit JSON Schema exists, so this module walks a ``blocks`` list and checks every limit the
conformance file records (block counts per surface, text lengths, item counts, enums). Errors are strings in
Slack's own wording and format, e.g. ``"must be less than 151 characters [json-pointer:/blocks/0/text/text]"``,
so the fake Slack server can return them verbatim in ``{"ok": false, "error": "invalid_blocks", "errors": [...]}``.

Use :func:`validate_blocks` from template tests and :func:`validate_view` for modals and Home tabs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from tests.support.conformance import conformance_path

__all__ = [
    "LIMITS_PATH",
    "BlockKitLimits",
    "limits",
    "validate_blocks",
    "validate_view",
]


LIMITS_PATH: Path = conformance_path("slack", "block-kit-limits.json")

TEXT_TYPES = ("plain_text", "mrkdwn")
STYLES = ("primary", "danger")
#: Block types Slack accepts in ``blocks`` (anything else is rejected as invalid_blocks).
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions", "context", "context_actions", "divider", "file", "header", "image", "input",
        "markdown", "rich_text", "section", "table", "video", "call",
    }
)  # fmt: skip
SELECT_TYPES = frozenset(
    {
        "static_select", "multi_static_select", "external_select", "multi_external_select", "users_select",
        "multi_users_select", "conversations_select", "multi_conversations_select", "channels_select",
        "multi_channels_select",
    }
)  # fmt: skip
PLACEHOLDER_TYPES = SELECT_TYPES | {
    "plain_text_input", "datepicker", "timepicker", "datetimepicker", "email_text_input", "url_text_input",
    "number_input", "rich_text_input",
}  # fmt: skip
# View-level limits are not in block-kit-limits.json; these come from python-slack-sdk
# slack_sdk/models/views/__init__.py (title/close/submit 24, private_metadata 3000, callback_id 255).
VIEW_TITLE_MAX = 24
VIEW_PRIVATE_METADATA_MAX = 3000
VIEW_CALLBACK_ID_MAX = 255


@dataclass(frozen=True)
class BlockKitLimits:
    """The numbers from ``block-kit-limits.json`` this validator enforces (loaded once, never hard-coded)."""

    max_blocks: dict[str, int]
    message_text_truncated_above: int
    block_id: int
    section_text: int
    section_fields: int
    section_field_text: int
    header_text: int
    actions_elements: int
    context_elements: int
    context_allowed: tuple[str, ...]
    image_url: int
    image_alt_text: int
    image_title: int
    input_label: int
    input_hint: int
    markdown_text: int
    video_title: int
    video_author_name: int
    table_rows: int
    table_cells: int
    table_column_settings: int
    action_id: int
    button_text: int
    button_value: int
    button_url: int
    button_accessibility_label: int
    select_options: int
    select_option_groups: int
    placeholder: int
    overflow_min: int
    overflow_max: int
    checkbox_options: int
    plain_text_input_min_length: int
    text_min: int
    text_max: int
    option_text: int
    option_value: int
    option_description: int
    option_url: int
    option_group_label: int
    option_group_options: int
    confirm_title: int
    confirm_text: int
    confirm_button: int


@lru_cache(maxsize=1)
def limits() -> BlockKitLimits:
    """Load and cache the documented limits from the conformance file."""
    raw: dict[str, Any] = json.loads(LIMITS_PATH.read_text(encoding="utf-8"))
    s, b, e, c = raw["surfaces"], raw["blocks"], raw["elements"], raw["composition_objects"]
    select = e["static_select / multi_static_select / external etc."]
    return BlockKitLimits(
        max_blocks={
            "message": s["message"]["max_blocks"],
            "modal": s["modal"]["max_blocks"],
            "home": s["home_tab"]["max_blocks"],
        },
        message_text_truncated_above=s["message_text_top_level"]["truncated_above"],
        block_id=b["_any_block"]["block_id"]["maxLength"],
        section_text=b["section"]["text.text"]["maxLength"],
        section_fields=b["section"]["fields"]["maxItems"],
        section_field_text=b["section"]["fields[].text"]["maxLength"],
        header_text=b["header"]["text.text"]["maxLength"],
        actions_elements=b["actions"]["elements"]["maxItems"],
        context_elements=b["context"]["elements"]["maxItems"],
        context_allowed=tuple(b["context"]["elements"]["allowed_types"]),
        image_url=b["image"]["image_url"]["maxLength"],
        image_alt_text=b["image"]["alt_text"]["maxLength"],
        image_title=b["image"]["title.text"]["maxLength"],
        input_label=b["input"]["label.text"]["maxLength"],
        input_hint=b["input"]["hint.text"]["maxLength"],
        markdown_text=b["markdown"]["text"]["maxLength"],
        video_title=b["video"]["title.text"]["maxLength"],
        video_author_name=b["video"]["author_name"]["maxLength"],
        table_rows=b["table"]["rows"]["maxItems"],
        table_cells=b["table"]["rows[]"]["maxItems"],
        table_column_settings=b["table"]["column_settings"]["maxItems"],
        action_id=e["_any_interactive_element"]["action_id"]["maxLength"],
        button_text=e["button"]["text.text"]["maxLength"],
        button_value=e["button"]["value"]["maxLength"],
        button_url=e["button"]["url"]["maxLength"],
        button_accessibility_label=e["button"]["accessibility_label"]["maxLength"],
        select_options=select["options"]["maxItems"],
        select_option_groups=select["option_groups"]["maxItems"],
        placeholder=select["placeholder.text"]["maxLength"],
        overflow_min=e["overflow"]["options"]["minItems"],
        overflow_max=e["overflow"]["options"]["maxItems"],
        checkbox_options=e["checkboxes / radio_buttons"]["options"]["maxItems"],
        plain_text_input_min_length=e["plain_text_input"]["min_length"]["maximum"],
        text_min=c["text"]["text"]["minLength"],
        text_max=c["text"]["text"]["maxLength"],
        option_text=c["option"]["text.text"]["maxLength"],
        option_value=c["option"]["value"]["maxLength"],
        option_description=c["option"]["description.text"]["maxLength"],
        option_url=c["option"]["url"]["maxLength"],
        option_group_label=c["option_group"]["label.text"]["maxLength"],
        option_group_options=c["option_group"]["options"]["maxItems"],
        confirm_title=c["confirm"]["title.text"]["maxLength"],
        confirm_text=c["confirm"]["text.text"]["maxLength"],
        confirm_button=c["confirm"]["confirm.text"]["maxLength"],
    )


class _Checker:
    """Accumulates Slack-style error strings while walking a payload."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.lim = limits()

    def err(self, message: str, ptr: str) -> None:
        self.errors.append(f"{message} [json-pointer:{ptr}]")

    def string(self, value: Any, ptr: str, max_len: int | None, *, min_len: int = 0) -> None:
        if not isinstance(value, str):
            self.err("expected string", ptr)
        elif max_len is not None and len(value) > max_len:
            self.err(f"must be less than {max_len + 1} characters", ptr)
        elif len(value) < min_len:
            self.err(f"must be more than {min_len - 1} characters", ptr)

    def items(self, value: Any, ptr: str, max_items: int | None, *, min_items: int = 0) -> list[Any]:
        if not isinstance(value, list):
            self.err("expected array", ptr)
            return []
        if max_items is not None and len(value) > max_items:
            self.err(f"no more than {max_items} items allowed", ptr)
        if len(value) < min_items:
            self.err(f"must provide at least {min_items} items", ptr)
        return value

    def text(self, obj: Any, ptr: str, max_len: int | None = None, *, plain_only: bool = False) -> None:
        """Check a text composition object (type, 1..3000 chars or a tighter ``max_len``, emoji/verbatim)."""
        if not isinstance(obj, dict):
            self.err("must be a text object", ptr)
            return
        kind = obj.get("type")
        if kind not in TEXT_TYPES:
            self.err(f"must be one of: {', '.join(TEXT_TYPES)}", f"{ptr}/type")
        elif plain_only and kind != "plain_text":
            self.err("must be a plain_text text object", f"{ptr}/type")
        if kind == "mrkdwn" and "emoji" in obj:
            self.err("emoji is only allowed on plain_text", f"{ptr}/emoji")
        if kind == "plain_text" and "verbatim" in obj:
            self.err("verbatim is only allowed on mrkdwn", f"{ptr}/verbatim")
        limit = self.lim.text_max if max_len is None else min(max_len, self.lim.text_max)
        self.string(obj.get("text"), f"{ptr}/text", limit, min_len=self.lim.text_min)

    def confirm(self, obj: Any, ptr: str) -> None:
        if not isinstance(obj, dict):
            self.err("must be a confirm object", ptr)
            return
        for key, limit, plain in (
            ("title", self.lim.confirm_title, True),
            ("text", self.lim.confirm_text, False),
            ("confirm", self.lim.confirm_button, True),
            ("deny", self.lim.confirm_button, True),
        ):
            if key not in obj:
                self.err(f"missing required field: {key}", ptr)
            else:
                self.text(obj[key], f"{ptr}/{key}", limit, plain_only=plain)
        if "style" in obj and obj["style"] not in STYLES:
            self.err(f"must be one of: {', '.join(STYLES)}", f"{ptr}/style")

    def option(self, obj: Any, ptr: str, *, allow_url: bool = False, plain_only: bool = True) -> None:
        if not isinstance(obj, dict):
            self.err("must be an option object", ptr)
            return
        if "text" not in obj:
            self.err("missing required field: text", ptr)
        else:
            self.text(obj["text"], f"{ptr}/text", self.lim.option_text, plain_only=plain_only)
        if "value" in obj:
            self.string(obj["value"], f"{ptr}/value", self.lim.option_value)
        if "description" in obj:
            self.text(obj["description"], f"{ptr}/description", self.lim.option_description, plain_only=plain_only)
        if "url" in obj:
            if allow_url:
                self.string(obj["url"], f"{ptr}/url", self.lim.option_url)
            else:
                self.err("url is only allowed on overflow menu options", f"{ptr}/url")

    def options(self, el: dict[str, Any], ptr: str, max_items: int, *, min_items: int = 0, **kw: Any) -> None:
        for i, opt in enumerate(self.items(el["options"], f"{ptr}/options", max_items, min_items=min_items)):
            self.option(opt, f"{ptr}/options/{i}", **kw)

    def element(self, el: Any, ptr: str) -> None:
        """Check one block element (button, selects, overflow, inputs, image, ...)."""
        if not isinstance(el, dict) or not isinstance(el.get("type"), str):
            self.err("missing required field: type", ptr)
            return
        kind, lim = el["type"], self.lim
        if "action_id" in el:
            self.string(el["action_id"], f"{ptr}/action_id", lim.action_id, min_len=1)
        if "confirm" in el:
            self.confirm(el["confirm"], f"{ptr}/confirm")
        if kind in PLACEHOLDER_TYPES and "placeholder" in el:
            self.text(el["placeholder"], f"{ptr}/placeholder", lim.placeholder, plain_only=True)
        if kind == "button":
            if "text" not in el:
                self.err("missing required field: text", ptr)
            else:
                self.text(el["text"], f"{ptr}/text", lim.button_text, plain_only=True)
            if "value" in el:
                self.string(el["value"], f"{ptr}/value", lim.button_value)
            if "url" in el:
                self.string(el["url"], f"{ptr}/url", lim.button_url)
            if "accessibility_label" in el:
                self.string(el["accessibility_label"], f"{ptr}/accessibility_label", lim.button_accessibility_label)
            if "style" in el and el["style"] not in STYLES:
                self.err(f"must be one of: {', '.join(STYLES)}", f"{ptr}/style")
        elif kind in SELECT_TYPES:
            if "options" in el and "option_groups" in el:
                self.err("options and option_groups are mutually exclusive", ptr)
            if "options" in el:
                self.options(el, ptr, lim.select_options)
            if "option_groups" in el:
                groups = self.items(el["option_groups"], f"{ptr}/option_groups", lim.select_option_groups)
                for i, group in enumerate(groups):
                    gptr = f"{ptr}/option_groups/{i}"
                    if not isinstance(group, dict):
                        self.err("must be an option group object", gptr)
                        continue
                    self.text(group.get("label"), f"{gptr}/label", lim.option_group_label, plain_only=True)
                    if "options" in group:
                        self.options(group, gptr, lim.option_group_options)
                    else:
                        self.err("missing required field: options", gptr)
            if "initial_option" in el:
                self.option(el["initial_option"], f"{ptr}/initial_option")
        elif kind == "overflow":
            if "options" in el:
                self.options(el, ptr, lim.overflow_max, min_items=lim.overflow_min, allow_url=True)
            else:
                self.err("missing required field: options", ptr)
        elif kind in ("checkboxes", "radio_buttons"):
            if "options" in el:
                self.options(el, ptr, lim.checkbox_options, plain_only=False)
        elif kind == "image":
            self.image(el, ptr)
        elif kind == "plain_text_input" and "min_length" in el:
            if not isinstance(el["min_length"], int) or el["min_length"] > lim.plain_text_input_min_length:
                self.err(f"must be less than {lim.plain_text_input_min_length + 1}", f"{ptr}/min_length")

    def image(self, obj: dict[str, Any], ptr: str) -> None:
        if "image_url" in obj:
            self.string(obj["image_url"], f"{ptr}/image_url", self.lim.image_url, min_len=1)
        elif "slack_file" not in obj:
            self.err("missing required field: image_url", ptr)
        if "alt_text" not in obj:
            self.err("missing required field: alt_text", ptr)
        else:
            self.string(obj["alt_text"], f"{ptr}/alt_text", self.lim.image_alt_text)

    def block(self, block: Any, ptr: str) -> None:
        """Check one layout block against its documented limits."""
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            self.err("missing required field: type", ptr)
            return
        kind, lim = block["type"], self.lim
        if kind not in KNOWN_BLOCK_TYPES:
            self.err(f"unsupported block type: {kind}", f"{ptr}/type")
            return
        if "block_id" in block:
            self.string(block["block_id"], f"{ptr}/block_id", lim.block_id, min_len=1)
        if kind == "section":
            if "text" not in block and "fields" not in block:
                self.err("must provide either text or fields", ptr)
            if "text" in block:
                self.text(block["text"], f"{ptr}/text", lim.section_text)
            if "fields" in block:
                fields = self.items(block["fields"], f"{ptr}/fields", lim.section_fields, min_items=1)
                for i, field in enumerate(fields):
                    self.text(field, f"{ptr}/fields/{i}", lim.section_field_text)
            if "accessory" in block:
                self.element(block["accessory"], f"{ptr}/accessory")
        elif kind == "header":
            self.text(block.get("text"), f"{ptr}/text", lim.header_text, plain_only=True)
        elif kind == "actions":
            elements = self.items(block.get("elements"), f"{ptr}/elements", lim.actions_elements, min_items=1)
            seen: set[str] = set()
            for i, el in enumerate(elements):
                self.element(el, f"{ptr}/elements/{i}")
                action_id = el.get("action_id") if isinstance(el, dict) else None
                if isinstance(action_id, str):
                    if action_id in seen:
                        self.err(f"duplicate action_id: {action_id}", f"{ptr}/elements/{i}/action_id")
                    seen.add(action_id)
        elif kind == "context":
            elements = self.items(block.get("elements"), f"{ptr}/elements", lim.context_elements, min_items=1)
            for i, el in enumerate(elements):
                eptr = f"{ptr}/elements/{i}"
                el_type = el.get("type") if isinstance(el, dict) else None
                if el_type not in lim.context_allowed:
                    self.err(f"must be one of: {', '.join(lim.context_allowed)}", f"{eptr}/type")
                elif el_type == "image":
                    self.image(el, eptr)
                else:
                    self.text(el, eptr)
        elif kind == "image":
            self.image(block, ptr)
            if "title" in block:
                self.text(block["title"], f"{ptr}/title", lim.image_title, plain_only=True)
        elif kind == "input":
            self.text(block.get("label"), f"{ptr}/label", lim.input_label, plain_only=True)
            if "hint" in block:
                self.text(block["hint"], f"{ptr}/hint", lim.input_hint, plain_only=True)
            if "element" not in block:
                self.err("missing required field: element", ptr)
            else:
                self.element(block["element"], f"{ptr}/element")
        elif kind == "markdown":
            self.string(block.get("text"), f"{ptr}/text", lim.markdown_text, min_len=1)
        elif kind == "video":
            if "title" in block:
                self.text(block["title"], f"{ptr}/title", lim.video_title, plain_only=True)
            if "author_name" in block:
                self.string(block["author_name"], f"{ptr}/author_name", lim.video_author_name)
        elif kind == "table":
            for i, row in enumerate(self.items(block.get("rows"), f"{ptr}/rows", lim.table_rows, min_items=1)):
                self.items(row, f"{ptr}/rows/{i}", lim.table_cells)
            if "column_settings" in block:
                self.items(block["column_settings"], f"{ptr}/column_settings", lim.table_column_settings)
        elif kind == "rich_text":
            self.items(block.get("elements"), f"{ptr}/elements", None)


def _surface_key(surface: str) -> str:
    key = "home" if surface in ("home", "home_tab") else surface
    if key not in ("message", "modal", "home"):
        raise ValueError(f"unknown surface {surface!r}; use 'message', 'modal' or 'home'")
    return key


def validate_blocks(blocks: Any, surface: str = "message", *, pointer: str = "/blocks") -> list[str]:
    """Return Slack-style errors for a ``blocks`` payload; an empty list means it is valid.

    Args:
        blocks: the decoded ``blocks`` value (a list of block dicts).
        surface: ``"message"`` (≤ 50 blocks), ``"modal"`` or ``"home"`` (≤ 100 blocks).
        pointer: JSON pointer of ``blocks`` used in messages (``/view/blocks`` for views).
    """
    checker = _Checker()
    max_blocks = checker.lim.max_blocks[_surface_key(surface)]
    seen: set[str] = set()
    for i, block in enumerate(checker.items(blocks, pointer, max_blocks)):
        checker.block(block, f"{pointer}/{i}")
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if isinstance(block_id, str):
            if block_id in seen:
                checker.err(f"duplicate block_id: {block_id}", f"{pointer}/{i}/block_id")
            seen.add(block_id)
    return checker.errors


def validate_view(view: Any, *, pointer: str = "/view") -> list[str]:
    """Validate a modal or Home tab view object (type, title/submit/close, metadata, then its blocks)."""
    checker = _Checker()
    if not isinstance(view, dict):
        checker.err("must be a view object", pointer)
        return checker.errors
    kind = view.get("type")
    if kind not in ("modal", "home"):
        checker.err("must be one of: modal, home", f"{pointer}/type")
        return checker.errors
    if kind == "modal":
        if "title" not in view:
            checker.err("missing required field: title", pointer)
        else:
            checker.text(view["title"], f"{pointer}/title", VIEW_TITLE_MAX, plain_only=True)
    for key in ("submit", "close"):
        if key in view and view[key] is not None:
            checker.text(view[key], f"{pointer}/{key}", VIEW_TITLE_MAX, plain_only=True)
    if "private_metadata" in view:
        checker.string(view["private_metadata"], f"{pointer}/private_metadata", VIEW_PRIVATE_METADATA_MAX)
    for key in ("callback_id", "external_id"):
        if key in view:
            checker.string(view[key], f"{pointer}/{key}", VIEW_CALLBACK_ID_MAX)
    if "blocks" not in view:
        checker.err("missing required field: blocks", pointer)
        return checker.errors
    errors = checker.errors + validate_blocks(view["blocks"], kind, pointer=f"{pointer}/blocks")
    blocks = view["blocks"] if isinstance(view["blocks"], list) else []
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if kind == "modal" and has_input and not view.get("submit"):
        errors.append(f"must provide a submit property when using input blocks [json-pointer:{pointer}]")
    return errors
