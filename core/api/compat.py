"""What a till written against one OpenAPI 3.0 document would trip over in the next one.

`breaking_changes(old, new)` compares two schemas and lists the changes that can break a client
written against `old`. The rules follow the direction the data travels:

- A **request** is what the till sends, so the server must keep accepting everything it accepted:
  it may widen (new optional fields, looser bounds, more enum values) but not narrow (a new
  required field or parameter, a changed type, a tighter bound or pattern, fewer enum values, a
  value list where any string was accepted, no more null).
- A **response** is what the till reads, so every field it read must still be there, always
  present if it was, with the same type and format, and never null if it never was; responses
  may narrow (tighter bounds) and grow (new fields).
- A removed path, method, status code or media type breaks whoever used it.

Anything not listed passes: additions are compatible. Changes this module cannot judge field by
field (a different set of `oneOf`/`anyOf` alternatives) are reported so that a person decides.

No maintained Python library does this for OpenAPI 3.0 with request/response direction (the
well-known tool, oasdiff, is Go); the rules are few enough to read in one sitting.
"""

from dataclasses import dataclass
from enum import Enum

PATH_REMOVED = "path removed"
METHOD_REMOVED = "method removed"
STATUS_REMOVED = "status code removed"
MEDIA_TYPE_REMOVED = "media type removed"
RESPONSE_FIELD_REMOVED = "response field removed"
RESPONSE_FIELD_OPTIONAL = "response field no longer always present"
REQUIRED_ADDED = "new required input"
BECAME_REQUIRED = "optional input became required"
TYPE_CHANGED = "type or format changed"
ENUM_VALUE_REMOVED = "enum value removed"
ENUM_ADDED = "input restricted to a list of values"
BOUND_TIGHTER = "input bound tightened"
PATTERN_CHANGED = "input pattern changed"
NULL_REFUSED = "input no longer accepts null"
BECAME_NULLABLE = "response value may now be null"
ALTERNATIVES_CHANGED = "oneOf/anyOf alternatives changed"

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
# An upper bound is tighter when it appears or falls; a lower bound when it appears or rises.
UPPER_BOUNDS = ("maxLength", "maxItems", "maxProperties", "maximum")
LOWER_BOUNDS = ("minLength", "minItems", "minProperties", "minimum")
# A lower length bound of 0 restricts nothing, so its appearance is no tightening.
LOWER_BOUND_DEFAULTS = {"minLength": 0, "minItems": 0, "minProperties": 0}


class Direction(Enum):
    REQUEST = "request"
    RESPONSE = "response"


@dataclass(frozen=True)
class Break:
    """One breaking change: which rule, and where (operation, then the field path inside its body)."""

    rule: str
    where: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.where}: {self.rule}" + (f" ({self.detail})" if self.detail else "")


def breaking_changes(old: dict, new: dict) -> list[Break]:
    """The changes from `old` to `new` that can break a client written against `old`, in `old`'s order."""
    return _Comparison(old, new).run()


def _resolve(doc: dict, node):
    """Follow local `$ref`s (`#/components/...`) to the object they name; siblings of `$ref` are ignored, as in 3.0."""
    seen = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"Cannot resolve $ref {ref!r}: only local, non-circular references are supported.")
        seen.add(ref)
        node = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _flatten(doc: dict, node) -> dict:
    """A schema with its `$ref` resolved and its `allOf` parts merged into one object schema."""
    node = _resolve(doc, node)
    if "allOf" not in node:
        return node
    merged: dict = {}
    properties: dict = {}
    required: list = []
    for part in [*(_flatten(doc, p) for p in node["allOf"]), {k: v for k, v in node.items() if k != "allOf"}]:
        merged.update({k: v for k, v in part.items() if k not in ("properties", "required")})
        properties.update(part.get("properties", {}))
        required += [name for name in part.get("required", []) if name not in required]
    if properties:
        merged["properties"] = properties
    if required:
        merged["required"] = required
    return merged


def _parameters(doc: dict, path_item: dict, operation: dict) -> dict:
    """An operation's parameters by (location, name); the operation's own override the path's."""
    found = {}
    for node in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        parameter = _resolve(doc, node)
        found[(parameter["in"], parameter["name"])] = parameter
    return found


class _Comparison:
    def __init__(self, old: dict, new: dict):
        self.old = old
        self.new = new
        self.breaks: list[Break] = []
        # Schema pairs being compared on the current branch: a recursive schema stops where it repeats.
        self._open: set[tuple[int, int, Direction]] = set()

    def run(self) -> list[Break]:
        new_paths = self.new.get("paths", {})
        for path, old_item in self.old.get("paths", {}).items():
            if path not in new_paths:
                self._break(PATH_REMOVED, path)
                continue
            old_item, new_item = _resolve(self.old, old_item), _resolve(self.new, new_paths[path])
            for method in HTTP_METHODS:
                if method not in old_item:
                    continue
                where = f"{method.upper()} {path}"
                if method not in new_item:
                    self._break(METHOD_REMOVED, where)
                    continue
                old_params = _parameters(self.old, old_item, old_item[method])
                new_params = _parameters(self.new, new_item, new_item[method])
                self._compare_parameters(old_params, new_params, where)
                self._compare_request_body(
                    old_item[method].get("requestBody"), new_item[method].get("requestBody"), where
                )
                self._compare_responses(
                    old_item[method].get("responses", {}), new_item[method].get("responses", {}), where
                )
        return self.breaks

    def _break(self, rule: str, where: str, detail: str = "") -> None:
        self.breaks.append(Break(rule, where, detail))

    def _compare_parameters(self, old: dict, new: dict, where: str) -> None:
        for (location, name), parameter in new.items():
            here = f"{where} {location} parameter {name}"
            before = old.get((location, name))
            if parameter.get("required") and before is None:
                self._break(REQUIRED_ADDED, here)
            elif parameter.get("required") and not before.get("required"):
                self._break(BECAME_REQUIRED, here)
            if before is not None and "schema" in before and "schema" in parameter:
                self._compare_schema(before["schema"], parameter["schema"], here, Direction.REQUEST)

    def _compare_request_body(self, old_node, new_node, where: str) -> None:
        here = f"{where} request"
        new = _resolve(self.new, new_node) if new_node is not None else None
        old = _resolve(self.old, old_node) if old_node is not None else None
        if new is not None and new.get("required"):
            if old is None:
                self._break(REQUIRED_ADDED, here)
            elif not old.get("required"):
                self._break(BECAME_REQUIRED, here)
        if old is not None and new is not None:
            self._compare_content(old.get("content", {}), new.get("content", {}), here, Direction.REQUEST)

    def _compare_responses(self, old: dict, new: dict, where: str) -> None:
        for status, old_node in old.items():
            here = f"{where} {status}"
            if status not in new:
                self._break(STATUS_REMOVED, here)
                continue
            old_response, new_response = _resolve(self.old, old_node), _resolve(self.new, new[status])
            self._compare_content(
                old_response.get("content", {}), new_response.get("content", {}), here, Direction.RESPONSE
            )

    def _compare_content(self, old: dict, new: dict, where: str, direction: Direction) -> None:
        for media_type, old_media in old.items():
            if media_type not in new:
                self._break(MEDIA_TYPE_REMOVED, where, media_type)
            elif "schema" in old_media and "schema" in new[media_type]:
                self._compare_schema(old_media["schema"], new[media_type]["schema"], where, direction)

    def _compare_schema(self, old_node, new_node, where: str, direction: Direction) -> None:
        key = (id(old_node), id(new_node), direction)
        if key in self._open:
            return
        self._open.add(key)
        try:
            old, new = _flatten(self.old, old_node), _flatten(self.new, new_node)
            self._compare_type(old, new, where, direction)
            self._compare_null(old, new, where, direction)
            self._compare_enum(old, new, where, direction)
            if direction is Direction.REQUEST:
                self._compare_bounds(old, new, where)
            self._compare_properties(old, new, where, direction)
            if "items" in old and "items" in new:
                self._compare_schema(old["items"], new["items"], f"{where}[]", direction)
            self._compare_alternatives(old, new, where, direction)
        finally:
            self._open.discard(key)

    def _compare_type(self, old: dict, new: dict, where: str, direction: Direction) -> None:
        # A request may not gain a type or format the till's values might not meet; a response may
        # not lose or change the type or format the till parses.
        for keyword in ("type", "format"):
            promised = new if direction is Direction.REQUEST else old
            if keyword in promised and old.get(keyword) != new.get(keyword):
                self._break(TYPE_CHANGED, where, f"{keyword} {old.get(keyword)} -> {new.get(keyword)}")

    def _compare_null(self, old: dict, new: dict, where: str, direction: Direction) -> None:
        if direction is Direction.REQUEST and old.get("nullable") and not new.get("nullable"):
            self._break(NULL_REFUSED, where)
        if direction is Direction.RESPONSE and new.get("nullable") and not old.get("nullable"):
            self._break(BECAME_NULLABLE, where)

    def _compare_enum(self, old: dict, new: dict, where: str, direction: Direction) -> None:
        if "enum" in old and "enum" in new:
            for value in old["enum"]:
                if value not in new["enum"]:
                    self._break(ENUM_VALUE_REMOVED, where, repr(value))
        elif "enum" in new and direction is Direction.REQUEST:
            self._break(ENUM_ADDED, where, ", ".join(repr(v) for v in new["enum"]))

    def _compare_bounds(self, old: dict, new: dict, where: str) -> None:
        for keyword in UPPER_BOUNDS:
            if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
                self._break(BOUND_TIGHTER, where, f"{keyword} {old.get(keyword)} -> {new[keyword]}")
        for keyword in LOWER_BOUNDS:
            before = old.get(keyword, LOWER_BOUND_DEFAULTS.get(keyword))
            if keyword in new and (before is None or new[keyword] > before):
                self._break(BOUND_TIGHTER, where, f"{keyword} {before} -> {new[keyword]}")
        for keyword in ("exclusiveMinimum", "exclusiveMaximum"):
            if new.get(keyword) and not old.get(keyword):
                self._break(BOUND_TIGHTER, where, f"{keyword} now true")
        if "pattern" in new and new["pattern"] != old.get("pattern"):
            # Whether one regular expression accepts all another accepted cannot be told here.
            self._break(PATTERN_CHANGED, where, f"{old.get('pattern')} -> {new['pattern']}")

    def _compare_properties(self, old: dict, new: dict, where: str, direction: Direction) -> None:
        old_fields, new_fields = old.get("properties", {}), new.get("properties", {})
        old_required, new_required = set(old.get("required", [])), set(new.get("required", []))
        if direction is Direction.RESPONSE:
            for name in old_fields:
                if name not in new_fields:
                    self._break(RESPONSE_FIELD_REMOVED, f"{where}.{name}")
                elif name in old_required and name not in new_required:
                    self._break(RESPONSE_FIELD_OPTIONAL, f"{where}.{name}")
        else:
            for name in new.get("required", []):
                if name in old_required:
                    continue
                self._break(BECAME_REQUIRED if name in old_fields else REQUIRED_ADDED, f"{where}.{name}")
        for name, old_field in old_fields.items():
            if name in new_fields:
                self._compare_schema(old_field, new_fields[name], f"{where}.{name}", direction)

    def _compare_alternatives(self, old: dict, new: dict, where: str, direction: Direction) -> None:
        for keyword in ("oneOf", "anyOf"):
            old_options, new_options = old.get(keyword), new.get(keyword)
            if old_options is None and new_options is None:
                continue
            if old_options is None or new_options is None or len(old_options) != len(new_options):
                self._break(ALTERNATIVES_CHANGED, where, keyword)
                continue
            for index, (old_option, new_option) in enumerate(zip(old_options, new_options, strict=True)):
                self._compare_schema(old_option, new_option, f"{where}<{keyword} {index}>", direction)
