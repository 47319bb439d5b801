"""The ObjectStore port over boto3, for any S3 endpoint (SeaweedFS, MinIO, AWS, ...).
Uploads and downloads go through boto3's managed transfer: multipart and parallel."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig, create_transfer_manager
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError
from s3transfer.futures import TransferFuture
from s3transfer.manager import TransferManager

from ades.errors import RangeNotSatisfiable
from ades.objectstore.store import ObjectStore, ObjectStream, Upload

_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchBucket"}
# Larger than what SeaweedFS keeps inline in its filer entries, so that the start-up probe
# goes through a volume server, as every result download does.
_PROBE_BYTES = 64 * 1024
_CHUNK = 1024 * 1024


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
        config = Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 5, "mode": "standard"},
            # Checksums on every request are not understood by every S3 (SeaweedFS).
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            max_pool_connections=32,
        )
        credentials = {
            "endpoint_url": endpoint or None,
            "aws_access_key_id": access_key,
            "aws_secret_access_key": secret_key,
            "region_name": region,
        }
        self.client = boto3.client("s3", config=config, **credentials)
        # Readiness probes must answer within a probe's timeout: one try, short timeouts.
        self._probe = boto3.client(
            "s3",
            config=config.merge(
                Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=2)
            ),
            **credentials,
        )
        self.transfer = TransferConfig(max_concurrency=8)
        # Copies: one CopyObject up to S3's limit for it (5 GiB), parts beyond.
        self.copying = TransferConfig(max_concurrency=8, multipart_threshold=5 * 1024**3)

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

    def wait_usable(self, deadline: float = 60) -> None:
        """Return once an object can be written and read back, retrying until ``deadline``.
        An S3 that answers is not yet one that serves objects: a SeaweedFS restarted on its
        old data lists buckets at once but fails reads (InternalError) for seconds, until its
        volume server has registered again. A server must not take requests before this."""
        key = f".ades-probe/{uuid.uuid4().hex}"
        data = b"\0" * _PROBE_BYTES
        end = time.monotonic() + deadline
        while True:
            try:
                self.put_bytes(data, key)
                if self.get_bytes(key) == data:
                    self.client.delete_object(Bucket=self.bucket, Key=key)
                    return
            except (ClientError, BotoCoreError, KeyError):
                if time.monotonic() > end:
                    raise
            time.sleep(0.2)

    def unready_reason(self) -> str | None:
        try:
            self._probe.head_bucket(Bucket=self.bucket)
            return None
        except ClientError as err:
            return f"S3 bucket '{self.bucket}': {err.response['Error'].get('Code', err)}"
        except BotoCoreError as err:
            return f"S3 endpoint {self.endpoint or 'of AWS'}: {err}"

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as err:
            if err.response["Error"]["Code"] in _MISSING:
                return False
            raise

    def open(self, key: str, byte_range: str | None = None) -> ObjectStream:
        extra = {"Range": byte_range} if byte_range else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        except ClientError as err:
            code = err.response["Error"]["Code"]
            if code in _MISSING:
                raise KeyError(key) from err
            if code == "InvalidRange":
                raise RangeNotSatisfiable(key, byte_range or "") from err
            raise
        return ObjectStream(
            answer["Body"].iter_chunks(_CHUNK),
            answer["ContentLength"],
            answer.get("ContentType"),
            answer.get("ContentRange"),
        )

    def put_file(self, path: Path, key: str, content_type: str | None = None) -> str:
        extra = {"ContentType": content_type} if content_type else None
        self.client.upload_file(str(path), self.bucket, key, ExtraArgs=extra, Config=self.transfer)
        return self.uri(key)

    @contextmanager
    def uploads(self) -> Iterator[Upload]:
        # One transfer manager for all the files: its max_concurrency threads take the parts
        # of every file from one queue, so many small files go as fast as one big one. It is
        # made at the first file (a job with only literal outputs needs none); leaving the
        # context waits for every upload, or cancels them when the caller failed.
        futures: list[TransferFuture] = []
        manager: TransferManager | None = None
        with ExitStack() as stack:

            def upload(path: Path, key: str, content_type: str | None = None) -> str:
                nonlocal manager
                if manager is None:
                    manager = stack.enter_context(
                        create_transfer_manager(self.client, self.transfer)
                    )
                extra = {"ContentType": content_type} if content_type else None
                futures.append(manager.upload(str(path), self.bucket, key, extra_args=extra))
                return self.uri(key)

            yield upload
        for future in futures:
            future.result()  # the first failed upload's error

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

    def sizes(self, prefix: str) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            sizes.update((item["Key"], item["Size"]) for item in page.get("Contents", []))
        return sizes

    def delete_prefix(self, prefix: str) -> int:
        keys = self.list_keys(prefix)
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True},
            )
        return len(keys)

    def etag(self, key: str, bucket: str | None = None) -> str:
        try:
            return self.client.head_object(Bucket=bucket or self.bucket, Key=key)["ETag"]
        except ClientError as err:
            if err.response["Error"]["Code"] in _MISSING:
                raise KeyError(key) from err
            raise

    def copy(self, source: str, target: str) -> None:
        try:
            self.client.copy(
                {"Bucket": self.bucket, "Key": source}, self.bucket, target, Config=self.copying
            )
        except ClientError as err:
            if err.response["Error"]["Code"] in _MISSING:
                raise KeyError(source) from err
            raise

    def presign(self, key: str, expires: int) -> str:
        """An HTTPS(-or-HTTP) URL anyone can GET the object with for ``expires`` seconds."""
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
        )
