"""The ``[publish]`` table: where the web archive goes."""

from __future__ import annotations

from dataclasses import dataclass

from newsletter.workspace import SettingsTable


@dataclass(frozen=True)
class PublishSettings(SettingsTable):
    """Where ``newsletter publish`` puts the web archive. Credentials and the endpoint come from
    boto3's own sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, profiles)."""

    TABLE = "publish"

    bucket: str = ""  # s3://NAME/PREFIX (S3, R2, MinIO, B2); empty: no publishing
    public_url: str = ""  # where PREFIX is served; default: archive_url up to {slug}
