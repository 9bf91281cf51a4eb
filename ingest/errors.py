"""Every exception of the package.

`InputError` and `RawZoneError` are problems a person can fix (a path, a URL, a setting):
the command line prints them as one line, `error: ...`, and exits with status 2.
"""

from __future__ import annotations


class InputError(Exception):
    """A problem with the user's input that they can fix; printed without a traceback."""


class RawZoneError(Exception):
    """A raw zone problem the user can fix (URL, credentials, endpoint); printed as one line."""


class ObjectNotFoundError(RawZoneError):
    """The key names no object in the zone."""


class BodyTooLargeError(Exception):
    """A tracking API request body past its limit; answered 413, never raised past the API."""


class TokenError(Exception):
    """A read API bearer token that does not verify (signature, expiry, issuer, audience, claims); answered 401."""
