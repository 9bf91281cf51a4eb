"""How deep an event may nest objects and arrays.

orjson parses up to 1,024 levels but writes at most 254, and every event is written back
out (to the raw zone, or into a rejected line one level deeper): without a limit below
both, an event 254 to 1,024 levels deep broke its whole request. Contract v1 needs two
levels (the event; its metadata and context objects); 64 leaves room for free-form
metadata and stays far from both limits. A body deeper than the parser reads is a 400.
"""

from __future__ import annotations

MAX_EVENT_DEPTH = 64  # the event object itself is level 1
PARSER_MAX_DEPTH = 1024  # orjson.loads refuses deeper documents
_CONTAINERS = (dict, list)


def nested_deeper_than(value: object, limit: int) -> bool:
    """True when `value`, parsed by orjson, has objects or arrays more than `limit` levels
    deep (itself level 1). On the hot path: `type() in` is faster than isinstance, and orjson
    makes exactly dict and list; the recursion is bounded by `limit`."""
    if type(value) not in _CONTAINERS:
        return False
    return _deeper(value, limit - 1)  # type: ignore[arg-type]


def _deeper(container: dict[str, object] | list[object], levels_left: int) -> bool:
    for child in container.values() if type(container) is dict else container:
        if type(child) in _CONTAINERS and (levels_left == 0 or _deeper(child, levels_left - 1)):  # type: ignore[arg-type]
            return True
    return False
