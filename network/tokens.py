"""Signed, expiring, single-use links (invitations, password resets).

The token is signed with the app secret (so tampering is detected without a database lookup) and
carries a random nonce whose hash is stored on the row: a used or revoked row makes the link dead
even while its signature is still valid.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from network.errors import Invalid
from network.i18n import N_


def _serializer(secret: str, purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=f"carecommons.{purpose}")


def digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def issue(secret: str, purpose: str, row_id: int) -> tuple[str, str]:
    """Return (token for the link, nonce digest to store on the row)."""
    nonce = secrets.token_urlsafe(24)
    return _serializer(secret, purpose).dumps({"id": row_id, "n": nonce}), digest(nonce)


def read(secret: str, purpose: str, token: str, max_age_seconds: int) -> tuple[int, str]:
    """Return (row id, nonce digest) of a genuine, unexpired token, or raise Invalid."""
    try:
        data = _serializer(secret, purpose).loads(token, max_age=max_age_seconds)
    except SignatureExpired:
        raise Invalid({"link": [N_("This link has expired. Ask for a new one.")]})
    except BadSignature:
        raise Invalid({"link": [N_("This link is not valid. Check that you copied all of it.")]})
    if not isinstance(data, dict) or not isinstance(data.get("id"), int) or not isinstance(data.get("n"), str):
        raise Invalid({"link": [N_("This link is not valid. Check that you copied all of it.")]})
    return data["id"], digest(data["n"])


def same(stored_digest: str | None, presented_digest: str) -> bool:
    return bool(stored_digest) and hmac.compare_digest(stored_digest, presented_digest)


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
