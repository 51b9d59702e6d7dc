"""Buckets (``bucket`` and ``smartbucket`` blocks): the R2-shaped API of ``env.<BUCKET>``.

One :class:`Bucket` binding (:mod:`runtime.buckets.binding`) owns the API's rules over a
:class:`BlobStore` (:mod:`runtime.buckets.base`): :class:`FileBlobStore` keeps objects in the
state folder, one file per object named by the hash of its key (:mod:`runtime.buckets.files`);
``S3BlobStore`` (:mod:`runtime.buckets.s3`, imported on demand: it needs boto3) keeps them in an
S3-compatible service.
"""

from __future__ import annotations

from runtime.buckets.base import BlobStore
from runtime.buckets.binding import Bucket
from runtime.buckets.checks import MAX_CUSTOM_METADATA, MAX_KEY_BYTES, MAX_LIST
from runtime.buckets.files import FileBlobStore
from runtime.buckets.multipart import MultipartUpload
from runtime.buckets.objects import BucketObject, BucketObjectBody, EventSink, event_body

__all__ = [
    "MAX_CUSTOM_METADATA",
    "MAX_KEY_BYTES",
    "MAX_LIST",
    "BlobStore",
    "Bucket",
    "BucketObject",
    "BucketObjectBody",
    "EventSink",
    "FileBlobStore",
    "MultipartUpload",
    "event_body",
]
