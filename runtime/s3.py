"""Buckets on an S3-compatible service: :class:`S3Bucket`, kept here for imports of earlier
versions. It lives in :mod:`runtime.buckets.s3`."""

from __future__ import annotations

from runtime.buckets.s3 import S3BlobStore, S3Bucket

__all__ = ["S3BlobStore", "S3Bucket"]
