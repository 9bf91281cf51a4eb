"""What dbt-bigquery needs to compile offline: a service-account key no Google service knows."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def fake_keyfile(folder: Path) -> Path:
    """A syntactically valid service-account key: dbt-bigquery loads it even to compile offline."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    path = folder / "fake-service-account.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "offline-project", "private_key_id": "0",
        "private_key": pem, "client_email": "ci@offline-project.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token",
    }))
    return path
