r"""Hold REST request bodies to Discord's OpenAPI spec plus the documented limits the spec does not carry.

The sandbox calls `RequestValidator.validate` for every request with a JSON body and answers
400 `{"code": 50035, "message": "Invalid Form Body", "errors": ...}` when it returns errors.

Which rule is enforced where (checked against the vendored spec; "spec" = the schema rejects it,
"added" = this module rejects it because the spec is silent or more lenient than Discord's docs):

    rule                                                        enforced by
    ----------------------------------------------------------  -------------------------------------------
    message content <= 2000                                     spec for webhooks and interaction callbacks;
                                                                added for channel message create/edit (4000)
    <= 10 embeds; embed title 256, description 4096,            spec
      <= 25 fields, field name 256 / value 1024,
      footer text 2048, author name 256
    embed text of a whole message <= 6000                       added
    <= 5 action rows without the components-v2 flag             added (spec allows 40 components)
    top level of a legacy message holds action rows only        added
    a row holds <= 5 buttons                                    spec
    a row holding a select holds only that select               added
    custom_id 1-100, button label <= 80, select <= 25 options,  spec
      placeholder <= 150, option label/value 1-100
    unknown component type                                      spec (oneOf by `type`); reported here as
                                                                UNION_TYPE_CHOICES on the `type` field
    modal title 1-45, text input label 1-45, placeholder 100,   spec
      value 4000
    modal <= 5 top-level components                             added (spec allows 40)
    a modal action row holds exactly one text input             added (spec allows 5)
    autocomplete <= 25 choices, choice name 1-100               spec
    string choice value <= 100 (autocomplete and options)       added (spec allows 6000)
    command/option name 1-32, option description 1-100,         spec
      <= 25 options, <= 25 choices
    name pattern ^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$       added (chat-input commands, all options,
      and lower case                                            and their name_localizations)
    chat-input command description 1-100 (required)             added (spec: optional, no minimum)
    unique option names; required options before optional      added
    bulk overwrite <= 100 chat-input commands                   added (spec allows 130 of all types);
      and unique (name, type)                                   Discord itself answers 30032 for the limit
    scheduled event create: stage/voice need channel_id,        added (spec: all optional)
      external needs scheduled_end_time and no channel_id
    scheduled event privacy_level and entity_type required      spec (discord.py omits privacy_level unless
                                                                it is passed: pass PrivacyLevel.guild_only)
    nonce string <= 25 / int64                                  spec
    date-time and uri formats                                   checked here (jsonschema asserts no formats
                                                                by default)

Spec allowances (the spec rejects what Discord accepts and discord.py 2.7.1 sends):

- `SnowflakeType` is a digit string in the spec, but discord.py sends integer snowflakes in
  `allowed_mentions.users/roles`, `POST /users/@me/channels` `recipient_id` and scheduled-event
  `channel_id`, which Discord accepts; integers >= 0 are allowed as snowflakes too.
- Permission bitfields (`allow`/`deny` of overwrites, role `permissions`) are integers in the spec,
  but strings in Discord's docs and in discord.py's bodies (`set_permissions`, `create_role`); the
  spec's README says int fields accept int-parseable strings, so digit strings are allowed there.
"""

from __future__ import annotations

import json
import logging
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

log = logging.getLogger(__name__)

DEFAULT_SPEC_PATH = Path(__file__).resolve().parent / "spec" / "openapi.json"
# The spec has no `$id`; this URI names it inside the registry only (nothing is ever fetched).
SPEC_URI = "urn:discord-api-spec:openapi.json"
JSON_MEDIA_TYPE = "application/json"
HTTP_METHODS = frozenset({"get", "put", "post", "patch", "delete", "head", "options"})
PERMISSION_FIELDS = frozenset({"allow", "deny", "permissions"})

MAX_CONTENT = 2000
MAX_EMBED_TOTAL = 6000
MAX_LEGACY_ROWS = 5
MAX_MODAL_ROWS = 5
MAX_CHOICE_STRING_VALUE = 100
MAX_CHAT_INPUT_COMMANDS = 100
MAX_COMMAND_NAME = 32
MAX_COMMAND_DESCRIPTION = 100
IS_COMPONENTS_V2 = 1 << 15
ACTION_ROW = 1
SELECT_TYPES = frozenset({3, 5, 6, 7, 8})
CHAT_INPUT = 1
SUB_COMMAND, SUB_COMMAND_GROUP, STRING_OPTION = 1, 2, 3
MESSAGE_CALLBACK_TYPES = frozenset({4, 5, 6, 7})
AUTOCOMPLETE_CALLBACK = 8
MODAL_CALLBACK = 9
CHANNEL_EVENT_TYPES = frozenset({1, 2})
EXTERNAL_EVENT = 3

# Bodies already accepted, remembered per process: every bot start puts the same command list (38 ms to validate, a
# tenth of a start), and a body's verdict depends on nothing but the body and its operation.
ACCEPTED_BODIES_KEPT = 1024

# Scripts that `\p{sc=Deva}` and `\p{sc=Thai}` add to letters and numbers: they matter for their
# combining vowel signs (categories Mn/Mc), which are neither L* nor N*. Block ranges stand in for
# the script property because the stdlib has no script data.
_DEVANAGARI = ((0x0900, 0x097F), (0xA8E0, 0xA8FF), (0x11B00, 0x11B5F))
_THAI = ((0x0E00, 0x0E7F),)
_URI_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:\S+$")

Path_ = tuple[str | int, ...]
Problem = tuple[Path_, str, str]

MESSAGE_OPERATIONS = frozenset(
    {
        ("POST", "/channels/{channel_id}/messages"),
        ("PATCH", "/channels/{channel_id}/messages/{message_id}"),
        ("POST", "/webhooks/{webhook_id}/{webhook_token}"),
        ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/@original"),
        ("PATCH", "/webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"),
    }
)
THREAD_WITH_MESSAGE = ("POST", "/channels/{channel_id}/threads")
SCHEDULED_EVENT_CREATE = ("POST", "/guilds/{guild_id}/scheduled-events")
INTERACTION_CALLBACK = ("POST", "/interactions/{interaction_id}/{interaction_token}/callback")
COMMAND_OPERATIONS = frozenset(
    {
        ("POST", "/applications/{application_id}/commands"),
        ("PATCH", "/applications/{application_id}/commands/{command_id}"),
        ("POST", "/applications/{application_id}/guilds/{guild_id}/commands"),
        ("PATCH", "/applications/{application_id}/guilds/{guild_id}/commands/{command_id}"),
    }
)
BULK_COMMAND_OPERATIONS = frozenset(
    {
        ("PUT", "/applications/{application_id}/commands"),
        ("PUT", "/applications/{application_id}/guilds/{guild_id}/commands"),
    }
)

_TYPE_CODES = {
    "string": ("STRING_TYPE_CONVERT", "Could not interpret {value} as string."),
    "integer": ("NUMBER_TYPE_COERCE", "Value {value} is not int."),
    "number": ("NUMBER_TYPE_COERCE", "Value {value} is not a valid number."),
    "boolean": ("BOOLEAN_TYPE_CONVERT", "Could not interpret {value} as boolean."),
    "object": ("MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType."),
    "array": ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType."),
    "null": ("BASE_TYPE_NULL", "Value must be null."),
}


class RequestValidator:
    """Validate Discord REST request bodies against the official OpenAPI spec and Discord's limits."""

    def __init__(self, spec_path: Path | None = None) -> None:
        with (spec_path or DEFAULT_SPEC_PATH).open(encoding="utf-8") as file:
            spec: dict[str, Any] = json.load(file)
        self._spec = _with_allowances(spec)
        resource: Resource[Any] = Resource.from_contents(self._spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._validator_class = _make_validator_class(self._spec)
        self._format_checker = _format_checker()
        self._validators: dict[tuple[str, str], Validator | None] = {}
        self._routes = _compile_routes(self._spec["paths"])
        self._match = lru_cache(maxsize=4096)(self._match_uncached)
        self._accepted: dict[tuple[str, str, str], None] = {}

    def validate(self, method: str, path: str, body: object) -> dict[str, object] | None:
        """Return Discord-style `errors` for an invalid body, or None when it is acceptable."""
        method = method.upper()
        template = self.operation_for(method, path)
        if template is None:
            return None
        validator = self._validator_for(method, template)
        if validator is None:
            return None
        # Sorted keys: the same body reads the same however its dicts were built. Only acceptance is remembered, so
        # a refused body is checked (and reported) afresh each time.
        key = (method, template, json.dumps(body, sort_keys=True))
        if key in self._accepted:
            return None
        problems = [_to_problem(error) for error in validator.iter_errors(body)]
        limit_check = _limit_check_for(method, template)
        if limit_check is not None:
            problems = _merge(problems, limit_check(body))
        if not problems:
            if len(self._accepted) >= ACCEPTED_BODIES_KEPT:
                del self._accepted[next(iter(self._accepted))]
            self._accepted[key] = None
            return None
        log.debug("Rejected %s %s: %s", method, template, problems)
        return _nest(problems)

    def operation_for(self, method: str, path: str) -> str | None:
        """Return the spec's path template (e.g. '/channels/{channel_id}/messages') matching a concrete path."""
        return self._match(method.lower(), path)

    def _match_uncached(self, method: str, path: str) -> str | None:
        """Return the most specific template with this method that matches the path."""
        segments = path.rstrip("/").split("/") if path != "/" else [""]
        best: tuple[tuple[bool, ...], str] | None = None
        for route in self._routes.get(len(segments), ()):
            if method in route.methods and route.regex.fullmatch(path.rstrip("/")):
                # Literal segments beat parameters, leftmost first: `/users/@me` wins over `/users/{user_id}`.
                if best is None or route.specificity > best[0]:
                    best = (route.specificity, route.template)
        return None if best is None else best[1]

    def _validator_for(self, method: str, template: str) -> Validator | None:
        """Return the cached body validator of an operation, or None when it takes no JSON body."""
        key = (method, template)
        if key not in self._validators:
            operation = self._spec["paths"][template].get(method.lower(), {})
            content = operation.get("requestBody", {}).get("content", {})
            if JSON_MEDIA_TYPE not in content:
                self._validators[key] = None
            else:
                pointer = "/".join(
                    _escape_pointer(part)
                    for part in ("paths", template, method.lower(), "requestBody", "content", JSON_MEDIA_TYPE, "schema")
                )
                self._validators[key] = self._validator_class(
                    {"$ref": f"{SPEC_URI}#/{pointer}"},
                    registry=self._registry,
                    format_checker=self._format_checker,
                )
        return self._validators[key]


@dataclass(frozen=True)
class _Route:
    template: str
    regex: re.Pattern[str]
    specificity: tuple[bool, ...]
    methods: frozenset[str]


def _compile_routes(paths: Mapping[str, Mapping[str, Any]]) -> dict[int, list[_Route]]:
    """Compile every path template to a regex, grouped by segment count."""
    routes: dict[int, list[_Route]] = {}
    for template, item in paths.items():
        segments = template.split("/")
        # A parameter is one whole segment; tokens may hold dots, dashes and underscores.
        pattern = "/".join("[^/]+" if _is_param(seg) else re.escape(seg) for seg in segments)
        route = _Route(
            template=template,
            regex=re.compile(pattern),
            specificity=tuple(not _is_param(seg) for seg in segments),
            methods=frozenset(key for key in item if key in HTTP_METHODS),
        )
        routes.setdefault(len(segments), []).append(route)
    return routes


def _is_param(segment: str) -> bool:
    """Return whether a template segment is a `{parameter}`."""
    return segment.startswith("{") and segment.endswith("}")


def _escape_pointer(part: str) -> str:
    """Escape one JSON pointer token (RFC 6901)."""
    return part.replace("~", "~0").replace("/", "~1")


def _with_allowances(spec: dict[str, Any]) -> dict[str, Any]:
    """Return the spec with the narrow allowances for what Discord accepts beyond it."""
    schemas = spec["components"]["schemas"]
    # discord.py sends snowflakes as JSON integers in several bodies and Discord accepts them.
    schemas["SnowflakeType"] = {
        "anyOf": [schemas["SnowflakeType"], {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}]
    }
    # Permission bitfields are strings in Discord's docs and in what discord.py sends; the spec
    # types them as integers and its README says int fields accept int-parseable strings.
    for node in _schema_objects(spec):
        properties = node.get("properties")
        if not isinstance(properties, dict):
            continue
        for name in PERMISSION_FIELDS & properties.keys():
            declared = properties[name].get("type")
            if declared == "integer" or (isinstance(declared, list) and "integer" in declared):
                properties[name] = {"anyOf": [properties[name], {"type": "string", "pattern": "^[0-9]{1,20}$"}]}
    return spec


def _schema_objects(spec: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every object schema under the components and the request bodies, depth first."""
    stack: list[object] = [spec["components"]["schemas"]]
    stack.extend(
        op.get("requestBody") for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)
    )
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            yield node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)


# --- A faster, clearer oneOf/anyOf ------------------------------------------------------------------
#
# Discord's unions are tagged: every component, option and callback schema requires a `type` with an
# `enum`. Plain oneOf evaluates every branch in full (and the `*Types` enums are themselves oneOfs
# of 20+ consts), which costs several ms per message and buries the useful error among the failing
# branches. Branches that cannot match because of the instance's JSON type or tag value are skipped;
# that is exact, since those branches fail anyway. The one branch left reports its own errors at
# their real paths, and an unknown tag is reported on the tag field itself.


@dataclass(frozen=True)
class _Branch:
    index: int
    schema: object
    types: frozenset[str] | None
    tags: tuple[tuple[str, tuple[object, ...]], ...]
    const: tuple[object] | None


def _make_validator_class(spec: Mapping[str, Any]) -> type[Validator]:
    """Return a Draft 2020-12 validator class whose oneOf/anyOf skip branches that cannot match."""
    analysed: dict[int, tuple[object, tuple[_Branch, ...]]] = {}

    def branches_of(subschemas: Sequence[object]) -> tuple[_Branch, ...]:
        cached = analysed.get(id(subschemas))
        if cached is not None and cached[0] is subschemas:
            return cached[1]
        result = tuple(_analyse_branch(spec, index, sub) for index, sub in enumerate(subschemas))
        consts = [branch.const for branch in result]
        if any(const is None for const in consts) or len({json.dumps(c) for c in consts}) != len(consts):
            # Only a union of distinct consts is a plain enum.
            result = tuple(
                _Branch(b.index, b.schema, b.types, b.tags, None) if b.const is not None else b for b in result
            )
        analysed[id(subschemas)] = (subschemas, result)
        return result

    def union(one: bool) -> Callable[[Validator, Any, Any, Any], Iterator[ValidationError]]:
        keyword = "oneOf" if one else "anyOf"

        def check(validator: Validator, subschemas: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
            branches = branches_of(subschemas)
            if branches and all(branch.const is not None for branch in branches):
                choices = [branch.const[0] for branch in branches if branch.const is not None]
                if not any(_json_equal(instance, choice) for choice in choices):
                    yield ValidationError(
                        f"{instance!r} is not one of {choices!r}", validator="enum", validator_value=choices
                    )
                return
            typed = [b for b in branches if b.types is None or any(validator.is_type(instance, t) for t in b.types)]
            if not typed:
                expected = sorted({t for b in branches for t in (b.types or ())})
                yield ValidationError(
                    f"{instance!r} is not of type {expected!r}", validator="type", validator_value=expected
                )
                return
            candidates = typed
            if isinstance(instance, dict):
                candidates = [b for b in typed if _tags_allow(b, instance)]
                if not candidates:
                    yield _tag_error(typed, instance)
                    return
            if len(candidates) == 1:
                yield from validator.descend(instance, candidates[0].schema, schema_path=candidates[0].index)
                return
            failures: list[list[ValidationError]] = []
            valid: list[int] = []
            for branch in candidates:
                branch_errors = list(validator.descend(instance, branch.schema, schema_path=branch.index))
                if branch_errors:
                    failures.append(branch_errors)
                    continue
                if not one:
                    return
                valid.append(branch.index)
                if len(valid) > 1:
                    yield ValidationError(f"{instance!r} is valid under each of branches {valid!r}", validator=keyword)
                    return
            if not valid:
                # Report the branch the body came closest to: fewest wrong types, then fewest errors.
                yield from min(failures, key=lambda errs: (sum(e.validator == "type" for e in errs), len(errs)))

        return check

    extended: type[Validator] = validators.extend(
        Draft202012Validator, {"oneOf": union(one=True), "anyOf": union(one=False)}
    )
    return extended


def _analyse_branch(spec: Mapping[str, Any], index: int, schema: object) -> _Branch:
    """Return what a union branch requires of an instance's JSON type, tags and value."""
    resolved = _resolve_local(spec, schema)
    if not isinstance(resolved, dict):
        return _Branch(index, schema, None, (), None)
    if "const" in resolved and set(resolved) <= {"const", "title", "description"}:
        return _Branch(index, schema, None, (), (resolved["const"],))
    declared = resolved.get("type")
    types = frozenset([declared] if isinstance(declared, str) else declared) if declared else None
    tags: list[tuple[str, tuple[object, ...]]] = []
    properties = resolved.get("properties", {})
    for name in resolved.get("required", ()):
        enum = properties.get(name, {}).get("enum") if isinstance(properties.get(name), dict) else None
        if isinstance(enum, list):
            tags.append((name, tuple(enum)))
    return _Branch(index, schema, types, tuple(tags), None)


def _resolve_local(spec: Mapping[str, Any], schema: object) -> object:
    """Follow local `$ref`s (`#/...`) to the schema they name."""
    seen = 0
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str) and schema["$ref"].startswith("#/"):
        node: Any = spec
        for token in schema["$ref"][2:].split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        schema = node
        seen += 1
        if seen > 32:
            break
    return schema


def _tags_allow(branch: _Branch, instance: Mapping[str, Any]) -> bool:
    """Return whether an object's tag values (e.g. `type`) leave this branch possible."""
    return all(
        name not in instance or any(_json_equal(instance[name], v) for v in values) for name, values in branch.tags
    )


def _tag_error(branches: Sequence[_Branch], instance: Mapping[str, Any]) -> ValidationError:
    """Return the error for an object whose tag matches no branch, on the tag field."""
    name = next((tag for b in branches for tag, _ in b.tags if tag in instance), "type")
    allowed = sorted(
        {v for b in branches for tag, values in b.tags if tag == name for v in values},
        key=lambda v: (type(v).__name__, v),
    )
    return ValidationError(
        f"Value of field {name!r} must be one of {allowed!r}",
        validator="x-discord-union",
        validator_value=allowed,
        instance=instance.get(name),
        path=[name],
    )


def _json_equal(left: object, right: object) -> bool:
    """Compare JSON values as JSON Schema does: booleans are not numbers."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    return left == right


def _format_checker() -> FormatChecker:
    """Return a checker for the formats that Discord rejects when malformed."""
    checker = FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_is_datetime)
    checker.checks("uri")(_is_uri)
    return checker


def _is_datetime(value: object) -> bool:
    """Return whether a string is an ISO 8601 date-time with an offset."""
    # RFC 3339 needs an offset; discord.py refuses naive datetimes for the same reason.
    return not isinstance(value, str) or datetime.fromisoformat(value).tzinfo is not None


def _is_uri(value: object) -> bool:
    """Return whether a string looks like an absolute URL."""
    # Discord takes http(s) and attachment:// URLs; a scheme and no whitespace is the common ground.
    return not isinstance(value, str) or _URI_RE.match(value) is not None


# --- Errors in Discord's shape ------------------------------------------------------------------------


def _to_problem(error: ValidationError) -> Problem:
    """Return the field path, Discord code and message for a jsonschema error."""
    if error.validator in ("oneOf", "anyOf") and error.context:
        chosen = best_match(error.context)
        if chosen is not None and chosen is not error:
            return _to_problem(chosen)
    path: Path_ = tuple(error.absolute_path)
    kind, value, schema = error.validator, error.validator_value, error.schema
    schema = schema if isinstance(schema, dict) else {}
    if kind == "required":
        instance = error.instance if isinstance(error.instance, dict) else {}
        missing = next((n for n in value if n not in instance and error.message.startswith(repr(n))), None)
        return (*path, missing) if missing is not None else path, "BASE_TYPE_REQUIRED", "This field is required"
    if kind in ("maxLength", "minLength", "maxItems", "minItems", "maxProperties", "minProperties"):
        return (path, *_length_message(kind, schema))
    if kind == "type":
        expected = [value] if isinstance(value, str) else list(value)
        main = next((t for t in expected if t != "null"), "null")
        code, template = _TYPE_CODES.get(main, ("BASE_TYPE_BAD_TYPE", "Invalid type {value}."))
        return path, code, template.format(value=json.dumps(error.instance)[:50])
    if kind in ("enum", "const"):
        choices = value if kind == "enum" else [value]
        return path, "BASE_TYPE_CHOICES", f"Value must be one of {{{', '.join(json.dumps(c) for c in choices)}}}."
    if kind == "x-discord-union":
        field = path[-1] if path else "type"
        return path, "UNION_TYPE_CHOICES", f'Value of field "{field}" must be one of {tuple(value)!r}.'
    if kind == "pattern":
        return path, "STRING_TYPE_REGEX", "String value did not match validation regex."
    if kind in ("maximum", "exclusiveMaximum"):
        return path, "NUMBER_TYPE_MAX", f"int value should be less than or equal to {value}."
    if kind in ("minimum", "exclusiveMinimum"):
        return path, "NUMBER_TYPE_MIN", f"int value should be greater than or equal to {value}."
    if kind == "format" and value == "date-time":
        return path, "DATE_TIME_TYPE_PARSE", f"Could not parse {error.instance}. Should be ISO8601."
    if kind == "format" and value == "uri":
        return path, "URL_TYPE_INVALID_URL", "Not a well formed URL."
    if kind == "uniqueItems":
        return path, "LIST_ITEM_VALUE_DUPLICATE", "List items must be unique."
    if kind in ("oneOf", "anyOf"):
        return path, "UNION_TYPE_CHOICES", "Value matches none or more than one of the allowed types."
    return path, "BASE_TYPE_INVALID", error.message


def _length_message(kind: str, schema: Mapping[str, Any]) -> tuple[str, str]:
    """Return the code and message of a length error, naming both bounds when the field has them."""
    family = "Length" if kind.endswith("Length") else "Items" if kind.endswith("Items") else "Properties"
    low, high = schema.get(f"min{family}", 0), schema.get(f"max{family}")
    if low and high is not None:
        return "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length."
    if kind.startswith("max"):
        return "BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length."
    return "BASE_TYPE_MIN_LENGTH", f"Must be {low} or more in length."


def _merge(schema_problems: list[Problem], limit_problems: list[Problem]) -> list[Problem]:
    """Return schema problems plus limit problems, one error per field as Discord reports them."""
    merged = list(schema_problems)
    at = {(path, code): index for index, (path, code, _) in enumerate(merged)}
    flagged = {path for path, _, _ in merged}
    for problem in limit_problems:
        path, code, _ = problem
        if (path, code) in at:
            # The documented limit is the stricter one (e.g. content 2000 where the spec says 4000).
            merged[at[(path, code)]] = problem
        elif path not in flagged:
            merged.append(problem)
    return merged


def _nest(problems: Sequence[Problem]) -> dict[str, object]:
    """Return problems nested by field path, each leaf holding `_errors`, as Discord does."""
    root: dict[str, Any] = {}
    for path, code, message in problems:
        node = root
        for key in path:
            node = node.setdefault(str(key), {})
        entries = node.setdefault("_errors", [])
        entry = {"code": code, "message": message}
        if entry not in entries:
            entries.append(entry)
    return root


# --- Documented limits the spec does not carry --------------------------------------------------------


def _limit_check_for(method: str, template: str) -> Callable[[object], list[Problem]] | None:
    """Return the extra limit check of an operation, if it has one."""
    key = (method, template)
    if key in MESSAGE_OPERATIONS:
        return lambda body: _message_problems(body, ())
    if key == THREAD_WITH_MESSAGE:
        return _forum_thread_problems
    if key == INTERACTION_CALLBACK:
        return _callback_problems
    if key == SCHEDULED_EVENT_CREATE:
        return _scheduled_event_problems
    if key in COMMAND_OPERATIONS:
        partial = method == "PATCH"
        return lambda body: _command_problems(body, (), partial=partial) if isinstance(body, dict) else []
    if key in BULK_COMMAND_OPERATIONS:
        return _bulk_command_problems
    return None


def _forum_thread_problems(body: object) -> list[Problem]:
    """Return the message problems of a forum thread's first message."""
    return _message_problems(body.get("message"), ("message",)) if isinstance(body, dict) else []


def _too_long(path: Path_, limit: int) -> Problem:
    """Return a BASE_TYPE_MAX_LENGTH problem."""
    return path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."


def _message_problems(message: object, at: Path_) -> list[Problem]:
    """Return the content, embed-total and legacy layout problems of a message body."""
    if not isinstance(message, dict):
        return []
    problems: list[Problem] = []
    content = message.get("content")
    if isinstance(content, str) and len(content) > MAX_CONTENT:
        problems.append(_too_long((*at, "content"), MAX_CONTENT))
    embeds = message.get("embeds")
    if isinstance(embeds, list) and sum(_embed_length(embed) for embed in embeds) > MAX_EMBED_TOTAL:
        problems.append(
            ((*at, "embeds"), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {MAX_EMBED_TOTAL}")
        )
    components = message.get("components")
    if isinstance(components, list):
        flags = message.get("flags")
        v2 = isinstance(flags, int) and not isinstance(flags, bool) and bool(flags & IS_COMPONENTS_V2)
        problems.extend(_component_problems(components, (*at, "components"), legacy=not v2))
    return problems


def _embed_length(embed: object) -> int:
    """Return the characters of an embed that count towards the 6000 total."""
    if not isinstance(embed, dict):
        return 0
    texts = [embed.get("title"), embed.get("description")]
    for part, key in (("footer", "text"), ("author", "name")):
        if isinstance(embed.get(part), dict):
            texts.append(embed[part].get(key))
    for field in embed.get("fields") or ():
        if isinstance(field, dict):
            texts.extend((field.get("name"), field.get("value")))
    return sum(len(text) for text in texts if isinstance(text, str))


def _component_problems(components: list[object], at: Path_, *, legacy: bool) -> list[Problem]:
    """Return the layout problems of a message's components, walking into containers."""
    problems: list[Problem] = []
    if legacy:
        if len(components) > MAX_LEGACY_ROWS:
            problems.append(_too_long(at, MAX_LEGACY_ROWS))
        for index, component in enumerate(components):
            kind = component.get("type") if isinstance(component, dict) else None
            if isinstance(kind, int) and kind != ACTION_ROW:
                # Without the components-v2 flag Discord takes action rows only at the top level.
                problems.append(
                    ((*at, index, "type"), "UNION_TYPE_CHOICES", 'Value of field "type" must be one of (1,).')
                )
    for index, component in enumerate(components):
        if not isinstance(component, dict):
            continue
        children = component.get("components")
        if not isinstance(children, list):
            continue
        if component.get("type") == ACTION_ROW:
            kinds = [child.get("type") for child in children if isinstance(child, dict)]
            if len(children) > 1 and any(kind in SELECT_TYPES for kind in kinds):
                problems.append(
                    (
                        (*at, index, "components"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                )
        else:
            problems.extend(_component_problems(children, (*at, index, "components"), legacy=False))
    return problems


def _callback_problems(body: object) -> list[Problem]:
    """Return the limit problems of an interaction callback, by callback type."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        return []
    kind, data = body.get("type"), body["data"]
    if kind in MESSAGE_CALLBACK_TYPES:
        return _message_problems(data, ("data",))
    if kind == AUTOCOMPLETE_CALLBACK:
        return _choice_value_problems(data.get("choices"), ("data", "choices"))
    if kind == MODAL_CALLBACK:
        return _modal_problems(data, ("data",))
    return []


def _choice_value_problems(choices: object, at: Path_) -> list[Problem]:
    """Return string choice values over 100 characters (the spec allows 6000)."""
    if not isinstance(choices, list):
        return []
    return [
        _too_long((*at, index, "value"), MAX_CHOICE_STRING_VALUE)
        for index, choice in enumerate(choices)
        if isinstance(choice, dict)
        and isinstance(choice.get("value"), str)
        and len(choice["value"]) > MAX_CHOICE_STRING_VALUE
    ]


def _modal_problems(modal: Mapping[str, Any], at: Path_) -> list[Problem]:
    """Return the modal layout problems: <= 5 rows, one text input in each action row."""
    components = modal.get("components")
    if not isinstance(components, list):
        return []
    problems: list[Problem] = []
    if len(components) > MAX_MODAL_ROWS:
        problems.append(
            ((*at, "components"), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_MODAL_ROWS} in length.")
        )
    for index, row in enumerate(components):
        if isinstance(row, dict) and row.get("type") == ACTION_ROW and isinstance(row.get("components"), list):
            if len(row["components"]) > 1:
                problems.append(
                    (
                        (*at, "components", index, "components"),
                        "COMPONENT_LAYOUT_WIDTH_EXCEEDED",
                        "The specified component exceeds the maximum width",
                    )
                )
    return problems


def _scheduled_event_problems(body: object) -> list[Problem]:
    """Return what a new scheduled event lacks for its entity type (stage/voice need a channel, external an end)."""
    if not isinstance(body, dict):
        return []
    kind = body.get("entity_type")
    if kind in CHANNEL_EVENT_TYPES and body.get("channel_id") is None:
        return [(("channel_id",), "BASE_TYPE_REQUIRED", "This field is required")]
    if kind == EXTERNAL_EVENT:
        problems: list[Problem] = []
        if body.get("scheduled_end_time") is None:
            problems.append((("scheduled_end_time",), "BASE_TYPE_REQUIRED", "This field is required"))
        if body.get("channel_id") is not None:
            problems.append(
                (("channel_id",), "GUILD_SCHEDULED_EVENT_CHANNEL_ID_INVALID", "External events cannot have a channel")
            )
        return problems
    return []


def _bulk_command_problems(body: object) -> list[Problem]:
    """Return the problems of a bulk overwrite: per-command rules, the chat-input limit, unique names."""
    if not isinstance(body, list):
        return []
    problems: list[Problem] = []
    chat_inputs = sum(1 for c in body if isinstance(c, dict) and c.get("type", CHAT_INPUT) in (None, CHAT_INPUT))
    if chat_inputs > MAX_CHAT_INPUT_COMMANDS:
        problems.append(_too_long((), MAX_CHAT_INPUT_COMMANDS))
    seen: set[tuple[object, object]] = set()
    for index, command in enumerate(body):
        if not isinstance(command, dict):
            continue
        problems.extend(_command_problems(command, (index,)))
        key = (command.get("name"), command.get("type") or CHAT_INPUT)
        if key in seen:
            problems.append(
                ((index, "name"), "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
            )
        seen.add(key)
    return problems


def _command_problems(command: Mapping[str, Any], at: Path_, *, partial: bool = False) -> list[Problem]:
    """Return the name, description and option problems of one application command."""
    problems: list[Problem] = []
    description = command.get("description")
    if partial:
        # A PATCH carries no `type`; only chat-input commands have options or a non-empty description.
        chat_input = "options" in command or bool(description)
    else:
        chat_input = command.get("type") in (None, CHAT_INPUT)
    if chat_input:
        problems.extend(_name_problems(command, at))
        if description is None and (not partial or "description" in command):
            problems.append(((*at, "description"), "BASE_TYPE_REQUIRED", "This field is required"))
        elif isinstance(description, str) and not 1 <= len(description) <= MAX_COMMAND_DESCRIPTION:
            problems.append(
                (
                    (*at, "description"),
                    "BASE_TYPE_BAD_LENGTH",
                    f"Must be between 1 and {MAX_COMMAND_DESCRIPTION} in length.",
                )
            )
    problems.extend(_options_problems(command.get("options"), (*at, "options")))
    return problems


def _options_problems(options: object, at: Path_) -> list[Problem]:
    """Return the problems of a list of command options, recursing into subcommands."""
    if not isinstance(options, list):
        return []
    problems: list[Problem] = []
    names: set[object] = set()
    optional_seen = False
    for index, option in enumerate(options):
        if not isinstance(option, dict):
            continue
        here = (*at, index)
        problems.extend(_name_problems(option, here))
        if option.get("name") in names:
            problems.append(
                ((*here, "name"), "APPLICATION_COMMAND_OPTION_NAME_ALREADY_EXISTS", "Option names must be unique")
            )
        names.add(option.get("name"))
        kind = option.get("type")
        if kind in (SUB_COMMAND, SUB_COMMAND_GROUP):
            problems.extend(_options_problems(option.get("options"), (*here, "options")))
            continue
        if option.get("required"):
            if optional_seen:
                problems.append(
                    (
                        (*here, "required"),
                        "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                        "Required options must be placed before non-required options",
                    )
                )
        else:
            optional_seen = True
        if kind == STRING_OPTION:
            problems.extend(_choice_value_problems(option.get("choices"), (*here, "choices")))
    return problems


def _name_problems(item: Mapping[str, Any], at: Path_) -> list[Problem]:
    """Return problems of a chat-input command or option name and its localisations."""
    problems: list[Problem] = []
    name = item.get("name")
    if isinstance(name, str) and 1 <= len(name) <= MAX_COMMAND_NAME and not is_valid_command_name(name):
        problems.append(((*at, "name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid"))
    localizations = item.get("name_localizations")
    if isinstance(localizations, dict):
        for locale, localized in localizations.items():
            if isinstance(localized, str) and not is_valid_command_name(localized):
                problems.append(
                    ((*at, "name_localizations", locale), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
                )
    return problems


def is_valid_command_name(name: str) -> bool:
    r"""Return whether a chat-input name matches `^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$` in lower case.

    The stdlib `re` has no `\p{...}` classes and the `regex` module is not a dependency, so the
    character class is rebuilt from `unicodedata` categories plus the two scripts' code point blocks.
    """
    if not 1 <= len(name) <= MAX_COMMAND_NAME or name != name.lower():
        return False
    return all(_is_name_char(char) for char in name)


def _is_name_char(char: str) -> bool:
    """Return whether one character may appear in a chat-input command name."""
    if char in "-_" or unicodedata.category(char)[0] in "LN":
        return True
    point = ord(char)
    return any(low <= point <= high for low, high in (*_DEVANAGARI, *_THAI))
