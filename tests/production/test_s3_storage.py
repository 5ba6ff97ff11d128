"""Media on S3-compatible storage (django-storages): uploads and rendered videos go to the bucket and are served from
it.
"""

from __future__ import annotations

import pytest

from studio.models import Render
from studio.services import render_enqueue, render_run
from tests.helpers import portrait_with_active_consent
from tests.production.conftest import _free_port
from tests.production.helpers import video_path

pytestmark = pytest.mark.django_db

BUCKET = "candor-media"


@pytest.fixture
def s3_storage(settings):
    """A local S3-compatible endpoint (moto's server, standing in for the real service) and the settings that use it."""
    pytest.importorskip("storages.backends.s3", reason="S3 storage group not run: pip install -e '.[s3]'")
    moto_server = pytest.importorskip("moto.server", reason="S3 storage group not run: pip install 'moto[server]'")
    import boto3

    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test"
    )
    client.create_bucket(Bucket=BUCKET)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "test",
                "secret_key": "test",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    yield client
    server.stop()


def test_portraits_and_rendered_videos_live_in_the_bucket_and_are_served_from_it(
    s3_storage, creator, api, portrait_jpeg
):
    portrait = portrait_with_active_consent(creator, portrait_jpeg, days=1)
    render = render_enqueue(
        owner=creator,
        portrait=portrait,
        purpose="marketing",
        text="Hello from the bucket.",
        language="en",
        dispatch=False,
    )
    render_run(render_id=render.id)
    render.refresh_from_db()
    assert render.status == Render.Status.DONE, render.error

    stored = {item["Key"] for item in s3_storage.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert {portrait.image.name, render.video.name} <= stored
    assert not video_path(str(render.id)).exists(), "the local copy stays behind"
    served = api.get(f"/api/renders/{render.id}/video/")
    assert served.status_code == 200 and served["Content-Type"] == "video/mp4"
    body = b"".join(served.streaming_content)
    assert body == s3_storage.get_object(Bucket=BUCKET, Key=render.video.name)["Body"].read()
    assert body[4:8] == b"ftyp"
