"""Buckets on S3 through boto3, against moto's S3 server on loopback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runtime import App
from runtime.s3 import S3Bucket

APP = Path(__file__).parent / "apps" / "web"


@pytest.fixture
def project(tmp_path: Path, s3_endpoint: str) -> Path:
    shutil.copytree(APP, tmp_path / "web")
    local = tmp_path / "web" / "raindrop.local.yaml"
    local.write_text(
        local.read_text()
        + "env:\n  S3_KEY: testing\n  S3_SECRET: testing\n"
        + f"buckets:\n  uploads:\n    endpoint_url: {s3_endpoint}\n    bucket: podcast-files\n"
        + "    access_key_id: ${S3_KEY}\n    secret_access_key: ${S3_SECRET}\n    create: true\n"
    )
    manifest = (tmp_path / "web" / "raindrop.manifest").read_text()
    manifest = manifest.replace(
        'env "API_TOKEN" { secret = true }',
        'env "API_TOKEN" { secret = true }\n  env "S3_KEY" {}\n  env "S3_SECRET" {}',
    )
    (tmp_path / "web" / "raindrop.manifest").write_text(manifest)
    return tmp_path / "web" / "raindrop.manifest"


@pytest.mark.anyio
async def test_bucket_api_on_s3(project: Path, s3_endpoint: str) -> None:
    import boto3

    async with App.from_manifest(project) as app:
        bucket = app.env.UPLOADS
        assert isinstance(bucket, S3Bucket)
        put = await bucket.put(
            "in/episode.mp3",
            b"ID3 audio",
            http_metadata={"contentType": "audio/mpeg"},
            custom_metadata={"userid": "u1"},
        )
        assert put.size == 9 and len(put.etag) == 32
        head = await bucket.head("in/episode.mp3")
        assert (
            head is not None
            and head.custom_metadata == {"userid": "u1"}
            and head.http_metadata["contentType"] == "audio/mpeg"
        )
        body = await bucket.get("in/episode.mp3")
        assert body is not None and body.body == b"ID3 audio"
        part = await bucket.get("in/episode.mp3", range={"offset": 4, "length": 5})
        assert part is not None and part.body == b"audio" and part.range == {"offset": 4, "length": 5}
        assert await bucket.get("missing.mp3") is None and await bucket.head("missing.mp3") is None
        for key in ["in/b", "in/c/d", "out/e"]:
            await bucket.put(key, b"x")
        listing = await bucket.list(prefix="in/", delimiter="/")
        assert [o.key for o in listing["objects"]] == ["in/b", "in/episode.mp3"]
        assert listing["delimited_prefixes"] == ["in/c/"]
        first = await bucket.list(limit=2)
        assert first["truncated"] and first["cursor"]
        rest = await bucket.list(cursor=first["cursor"])
        assert [o.key for o in first["objects"] + rest["objects"]] == ["in/b", "in/c/d", "in/episode.mp3", "out/e"]
        await bucket.delete(["out/e", "in/b"])
        assert len((await bucket.list())["objects"]) == 2
        await app.drain()
        events = json.loads(await app.env.CACHE.get("events"))  # the observer's rule: PutObject under in/
        assert sorted(e["object"]["key"] for e in events) == ["in/b", "in/c/d", "in/episode.mp3"]

    # The object really is in S3, where a plain boto3 client (a CDN, another service) sees it.
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    assert client.get_object(Bucket="podcast-files", Key="in/episode.mp3")["Body"].read() == b"ID3 audio"
