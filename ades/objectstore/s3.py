"""The ObjectStore port over boto3, for any S3 endpoint (SeaweedFS, MinIO, AWS, ...).
Uploads and downloads go through boto3's managed transfer: multipart and parallel."""

from __future__ import annotations

import time
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from ades.objectstore.store import ObjectStore

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        endpoint: str | None,
        access_key: str,
        secret_key: str,
        bucket: str,
        region: str = "us-east-1",
    ):
        self.endpoint = endpoint
        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint or None,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(
                s3={"addressing_style": "path"},
                retries={"max_attempts": 5, "mode": "standard"},
                # Checksums on every request are not understood by every S3 (SeaweedFS).
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
                max_pool_connections=32,
            ),
        )
        self.transfer = TransferConfig(max_concurrency=8)

    def ensure_bucket(self, deadline: float = 30) -> None:
        """Create the bucket unless it exists. A fresh SeaweedFS may refuse for a moment
        while its volume server registers, so errors are retried until ``deadline``."""
        end = time.monotonic() + deadline
        while True:
            try:
                self.client.head_bucket(Bucket=self.bucket)
                return
            except ClientError as err:
                if err.response["Error"]["Code"] not in _MISSING:
                    if time.monotonic() > end:
                        raise
                    time.sleep(0.2)
                    continue
            try:
                self.client.create_bucket(Bucket=self.bucket)
                return
            except (ClientError, EndpointConnectionError):
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)

    def put_file(self, path: Path, key: str, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else None
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=self.transfer)
        return self.uri(key)

    def put_bytes(self, data: bytes, key: str, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else {}
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, **extra)
        return self.uri(key)

    def get_bytes(self, key: str, bucket: str | None = None) -> bytes:
        try:
            return self.client.get_object(Bucket=bucket or self.bucket, Key=key)["Body"].read()
        except ClientError as err:
            if err.response["Error"]["Code"] in _MISSING:
                raise KeyError(key) from err
            raise

    def download_file(self, key: str, path: Path, bucket: str | None = None) -> None:
        try:
            self.client.download_file(bucket or self.bucket, key, str(path), Config=self.transfer)
        except ClientError as err:
            if err.response["Error"]["Code"] in _MISSING:
                raise KeyError(key) from err
            raise

    def list_keys(self, prefix: str, bucket: str | None = None) -> list[str]:
        keys: list[str] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket or self.bucket, Prefix=prefix
            ):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except ClientError as err:
            if err.response["Error"]["Code"] in _MISSING:
                raise KeyError(bucket or self.bucket) from err
            raise
        return sorted(keys)

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
        return len(keys)

    def presign(self, key: str, expires: int) -> str:
        """An HTTPS(-or-HTTP) URL anyone can GET the object with for ``expires`` seconds."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
        )
