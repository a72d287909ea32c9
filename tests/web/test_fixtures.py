"""The suite's own shortcuts keep their promises: what they skip is never what a test checks."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import argon2
import pytest
from starlette.testclient import TestClient

import kb.auth
from tests.conftest import MakeClient, services_of


def test_an_app_over_the_sample_copy_opens_the_prebuilt_index_without_building(
        make_client: MakeClient, sample_tree: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="kb"):
        client = make_client(sample_tree)
        assert client.get("/healthz").json()["search"] == "ok"  # at once: no build to wait for
        body = client.get("/api/v1/search", params={"q": "vip code", "lang": "en"}).json()
        assert client.portal is not None
        client.portal.call(services_of(client).search.wait_idle)  # the catch-up sync is done
    assert body["results"][0]["slug"] == "support-code-and-vip-code"
    messages = [record.getMessage() for record in caplog.records]
    assert not [m for m in messages if "building the search index" in m or "index updated" in m], messages


def test_the_shared_sample_client_refuses_to_write(sample_client: TestClient) -> None:
    with pytest.raises(AssertionError, match="read-only"):
        sample_client.post("/api/v1/articles/en/support-code-and-vip-code/votes", json={"helpful": True})
    assert sample_client.get("/api/v1/articles/en/support-code-and-vip-code/votes").json()["total"] == 0


def test_tests_hash_cheaply_but_the_product_keeps_argon2s_default_profile() -> None:
    assert kb.auth.PASSWORD_HASHING == argon2.profiles.CHEAPEST  # set by conftest for the session
    # A fresh interpreter sees the product's value: the test shortcut never leaks into it.
    code = ("import argon2, kb.auth; "
            "assert kb.auth.PASSWORD_HASHING == argon2.profiles.RFC_9106_LOW_MEMORY; "
            "assert kb.auth.PASSWORD_HASHING.memory_cost >= 65536 and kb.auth.PASSWORD_HASHING.time_cost >= 3")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.xdist_group("wheel")
def test_tests_of_one_group_are_sent_to_one_worker(request: pytest.FixtureRequest) -> None:
    """`--dist loadgroup` keeps a group (the wheel's, the cluster's, the catalog's) on one worker
    only if pytest-xdist could append the group's name to each test's id: pytest 9.2 stopped
    that silently, and every worker built the wheel and started the cluster again."""
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not distributed by group (-n 0 or another --dist)")
    assert request.node.nodeid.endswith("@wheel"), (
        f"{request.node.nodeid}: this pytest and pytest-xdist no longer group tests (see pyproject.toml)")
