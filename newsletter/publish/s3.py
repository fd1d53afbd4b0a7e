"""S3-compatible object storage (AWS S3, Cloudflare R2, MinIO, Backblaze B2) through boto3.

Credentials, region and endpoint come only from boto3's standard sources (environment,
``~/.aws`` profiles); newsletter.toml names the bucket and nothing secret. An object whose
bytes are already there (its ETag is the MD5 of a single-part upload) is not sent again.
"""

from __future__ import annotations

import hashlib
import mimetypes
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

from newsletter.errors import InputError

IMMUTABLE = "public, max-age=31536000, immutable"  # images: named by their content, never change
REVALIDATE = "public, max-age=300"  # pages and the index change when an issue is added
TEXT_TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain; charset=utf-8",
              ".json": "application/json", ".css": "text/css; charset=utf-8"}


@dataclass(frozen=True)
class Bucket:
    name: str
    prefix: str  # "" or ends with "/"

    def key(self, relative: str) -> str:
        return f"{self.prefix}{relative}"

    def __str__(self) -> str:
        return f"s3://{self.name}/{self.prefix}"


@dataclass
class Uploaded:
    sent: list[str] = field(default_factory=list)  # keys uploaded
    unchanged: list[str] = field(default_factory=list)  # keys whose bytes were already there


def parse_bucket(value: str) -> Bucket:
    parts = urlsplit(value)
    if parts.scheme != "s3" or not parts.netloc:
        raise InputError("newsletter.toml", f"[publish] bucket must look like s3://NAME/PREFIX, not {value!r}")
    prefix = parts.path.strip("/")
    return Bucket(parts.netloc, f"{prefix}/" if prefix else "")


def content_type(path: Path) -> str:
    return TEXT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def cache_control(relative: str) -> str:
    return IMMUTABLE if "/images/" in f"/{relative}" else REVALIDATE


def client():
    import boto3

    return boto3.client("s3")


def upload_tree(folder: Path, bucket: Bucket) -> Uploaded:
    """Every file under ``folder`` to ``bucket`` at the same relative key, skipping unchanged ones."""
    s3, result = client(), Uploaded()
    with _storage_errors(bucket):
        existing = _etags(s3, bucket)
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            relative = path.relative_to(folder).as_posix()
            key, body = bucket.key(relative), path.read_bytes()
            if existing.get(key) == hashlib.md5(body).hexdigest():
                result.unchanged.append(key)
                continue
            s3.put_object(Bucket=bucket.name, Key=key, Body=body, ContentType=content_type(path),
                          CacheControl=cache_control(relative))
            result.sent.append(key)
    return result


def missing(bucket: Bucket, keys: list[str]) -> list[str]:
    """The keys that are not in the bucket."""
    s3 = client()
    with _storage_errors(bucket):
        existing = _etags(s3, bucket)
    return [key for key in keys if key not in existing]


def _etags(s3, bucket: Bucket) -> dict[str, str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket.name, Prefix=bucket.prefix)
    return {item["Key"]: item["ETag"].strip('"') for page in pages for item in page.get("Contents", [])}


@contextmanager
def _storage_errors(bucket: Bucket) -> Iterator[None]:
    """boto3's exceptions as one line naming the bucket and what to do."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    try:
        yield
    except NoCredentialsError:
        raise InputError(None, f"{bucket}: no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                         "(and AWS_ENDPOINT_URL for R2, MinIO or B2) in the environment or .env") from None
    except ClientError as error:
        details = error.response.get("Error", {})
        raise InputError(None, f"{bucket}: {details.get('Code') or 'error'}: {details.get('Message') or error}") from None
    except BotoCoreError as error:
        raise InputError(None, f"{bucket}: {error}") from None
