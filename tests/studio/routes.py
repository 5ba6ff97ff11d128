"""The URL map as the security tests walk it: every route outside the admin, with its arguments, and how to
fill them.
"""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver

_ARGUMENT = re.compile(r"<(?:\w+:)?(\w+)>")


def url_routes(patterns=None, prefix: str = ""):
    """(route, argument names) of every URL pattern outside the admin (which only staff reach)."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(entry, URLResolver):
            if entry.app_name != "admin":
                yield from url_routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield route, set(_ARGUMENT.findall(route))


def url_fill(route: str, values, default=None) -> str:
    """The path of `route` with each argument taken from `values` (or made by `default()` when it is missing)."""
    return "/" + _ARGUMENT.sub(
        lambda match: values[match[1]] if default is None else values.get(match[1]) or default(), route
    )
