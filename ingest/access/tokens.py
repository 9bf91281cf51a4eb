"""Bearer tokens of the read API: JWTs verified with PyJWT, roles as claims.

Development signs with HS256 and `READ_API_JWT_SECRET` (at least 32 characters); production
verifies RS256 against the public keys of `READ_API_JWKS` (a JWKS file or an https URL, the
identity provider's). Each algorithm is accepted only with its own key, so a token cannot
choose HS256 and be checked with a public key (algorithm confusion). Issuer, audience and
expiry are always checked.

Claims: `sub` (who), `role` (one of ROLES), and `school_id` for a school admin. A teacher's
`sub` is their roster id (raw.roster_enrollments.user_id with role teacher): their classes
are the ones the roster gives them, looked up at each request, never carried in the token.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import jwt

from ingest.errors import InputError, TokenError
from ingest.settings import ReadApiSettings

TEACHER: Final = "teacher"
SCHOOL_ADMIN: Final = "school_admin"
ML_SERVICE: Final = "ml_service"
ANALYST: Final = "analyst"
ROLES: Final = (TEACHER, SCHOOL_ADMIN, ML_SERVICE, ANALYST)
MIN_SECRET_CHARS: Final = 32
LEEWAY_SECONDS: Final = 30


@dataclass(frozen=True)
class Principal:
    """A verified token's holder."""

    role: str
    subject: str
    school_id: str | None = None


def check_secret(secret: str) -> str:
    if len(secret) < MIN_SECRET_CHARS:
        raise InputError(f"READ_API_JWT_SECRET has {len(secret)} characters; HS256 needs a secret of at least "
                         f"{MIN_SECRET_CHARS} (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
    return secret


def issue(settings: ReadApiSettings, role: str, subject: str, school_id: str | None = None,
          ttl_seconds: float = 3600.0, now: float | None = None) -> str:
    """A development token, HS256 with the configured secret."""
    if settings.jwt_secret is None:
        raise InputError("READ_API_JWT_SECRET is not set: set it to a secret of at least 32 characters, the one "
                         "the read API verifies development tokens with")
    if role not in ROLES:
        raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    if role == SCHOOL_ADMIN and not school_id:
        raise InputError("a school_admin token names its school: add --school SCHOOL_ID")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"iss": settings.issuer, "aud": settings.audience, "sub": subject, "role": role,
                              "iat": issued, "exp": issued + int(ttl_seconds)}
    if school_id:
        claims["school_id"] = school_id
    return jwt.encode(claims, check_secret(settings.jwt_secret), algorithm="HS256")


class TokenVerifier:
    """Checks tokens against the configured keys; `verify` returns who holds one or raises TokenError."""

    def __init__(self, settings: ReadApiSettings) -> None:
        self.settings = settings
        self.secret = check_secret(settings.jwt_secret) if settings.jwt_secret is not None else None
        self.jwks_client: jwt.PyJWKClient | None = None
        self.jwks_file: jwt.PyJWKSet | None = None
        if settings.jwks:
            if settings.jwks.startswith(("https://", "http://")):
                self.jwks_client = jwt.PyJWKClient(settings.jwks, cache_keys=True, lifespan=300)
            else:
                try:
                    self.jwks_file = jwt.PyJWKSet.from_dict(json.loads(Path(settings.jwks).read_text()))
                except (OSError, ValueError, jwt.PyJWTError) as error:
                    raise InputError(f"READ_API_JWKS={settings.jwks}: not a readable JWKS file ({error})") from None
        if self.secret is None and self.jwks_client is None and self.jwks_file is None:
            raise InputError("the read API has no key to verify tokens with: set READ_API_JWT_SECRET (HS256, "
                             "development) or READ_API_JWKS (RS256: a JWKS file or URL, production)")

    def _key(self, token: str) -> tuple[Any, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenError("the bearer token is not a JWT") from None
        algorithm = header.get("alg")
        if algorithm == "HS256" and self.secret is not None:
            return self.secret, "HS256"
        if algorithm == "RS256" and self.jwks_client is not None:
            try:
                return self.jwks_client.get_signing_key_from_jwt(token).key, "RS256"
            except jwt.PyJWTError as error:
                raise TokenError(f"no key of READ_API_JWKS verifies this token ({error})") from None
        if algorithm == "RS256" and self.jwks_file is not None:
            kid = header.get("kid")
            keys = [key for key in self.jwks_file.keys if kid is None or key.key_id == kid]
            if not keys:
                raise TokenError("no key of READ_API_JWKS has this token's key id")
            return keys[0].key, "RS256"
        raise TokenError(f"tokens signed with {algorithm} are not accepted here")

    def verify(self, token: str) -> Principal:
        key, algorithm = self._key(token)
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.settings.audience,
                                issuer=self.settings.issuer, leeway=LEEWAY_SECONDS,
                                options={"require": ["exp", "iss", "aud", "sub", "role"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("the token has expired") from None
        except jwt.InvalidSignatureError:
            raise TokenError("the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenError(f"the token has no {error.claim!r} claim") from None
        except jwt.PyJWTError as error:
            raise TokenError(f"the token is not valid: {error}") from None
        role = claims["role"]
        if role not in ROLES:
            raise TokenError(f"unknown role {role!r}")
        school_id = claims.get("school_id")
        if role == SCHOOL_ADMIN and not isinstance(school_id, str):
            raise TokenError("a school_admin token has no 'school_id' claim")
        return Principal(role=role, subject=str(claims["sub"]), school_id=school_id if role == SCHOOL_ADMIN else None)
