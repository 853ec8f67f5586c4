"""An S3-compatible server on 127.0.0.1 for the object-storage tests: moto's server mode.

The server speaks the real S3 protocol and checks signatures: its first requests (made here,
unsigned by any known key) create the buckets, an IAM user allowed `s3:*` and that user's access
key; from then on every request must be signed with that key, so a wrong secret or an unknown
key id is refused as a real S3 would refuse it. Stopped when the test module ends.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from tests.conftest import free_port

if TYPE_CHECKING:
    from tests.loopback import LoopbackNamespace

START_SECONDS = 60
REGION = "us-east-1"
BUCKETS = ("dsagent-test", "dsagent-other")
# create_bucket x2, create_user, put_user_policy, create_access_key: then signatures count.
SETUP_REQUESTS = len(BUCKETS) + 3
ALLOW_S3 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    bucket: str
    access_key: str
    secret_key: str

    def env(self, **overrides: str) -> dict[str, str]:
        """The standard AWS variables an app (or obstore in this process) reads."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": REGION,
            **overrides,
        }

    def client(self) -> Any:
        """A real S3 client (boto3) signed with the app's key, for looking into the bucket."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=REGION,
        )

    def keys(self, prefix: str = "") -> list[str]:
        found: list[str] = []
        pages = self.client().get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=self.bucket, Prefix=prefix):
            found += [item["Key"] for item in page.get("Contents", [])]
        return found


@contextmanager
def s3_server(namespace: LoopbackNamespace | None = None) -> Iterator[S3Server]:
    """moto's server on 127.0.0.1 (of `namespace`, tests/loopback.py, when given)."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_REQUESTS)}
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    quiet = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = namespace.popen(argv, **quiet) if namespace else subprocess.Popen(argv, **quiet)
    inside: Callable[..., Any] = namespace.call if namespace else _now
    try:
        inside(_wait_for, port, process)
        yield inside(_set_up, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def _now(function: Callable[..., Any], *args: Any) -> Any:
    return function(*args)


def _set_up(endpoint: str) -> S3Server:
    """The buckets, and a user allowed s3:* whose key signs every later request."""
    setup = {
        "endpoint_url": endpoint,
        "aws_access_key_id": "setup",
        "aws_secret_access_key": "setup",
        "region_name": REGION,
    }
    s3 = boto3.client("s3", **setup)
    for bucket in BUCKETS:
        s3.create_bucket(Bucket=bucket)
    iam = boto3.client("iam", **setup)
    iam.create_user(UserName="dsagent")
    iam.put_user_policy(UserName="dsagent", PolicyName="s3", PolicyDocument=json.dumps(ALLOW_S3))
    key = iam.create_access_key(UserName="dsagent")["AccessKey"]
    return S3Server(endpoint, BUCKETS[0], key["AccessKeyId"], key["SecretAccessKey"])


def _wait_for(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto's server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto's server did not listen within {START_SECONDS} s")
