"""The dashboard page's headers: its policy allows exactly the inline code it carries."""

from __future__ import annotations

import base64
import hashlib

from posrisk.gateway.page import DashboardPage


def test_the_policy_pins_each_inline_block_by_hash_and_allows_nothing_absent() -> None:
    page = DashboardPage.of(b"<html><style>b { color: red }</style><p>no script</p></html>")
    digest = base64.b64encode(hashlib.sha256(b"b { color: red }").digest()).decode()
    policy = page.headers["Content-Security-Policy"]
    assert f"style-src 'sha256-{digest}'" in policy and "script-src 'none'" in policy
    assert "unsafe" not in policy and policy.startswith("default-src 'none'")


def test_the_served_page_is_the_packaged_one() -> None:
    page = DashboardPage.load()
    assert page.body.startswith(b"<!doctype html>") and b"/dashboard/ws" in page.body
    assert page.headers["X-Frame-Options"] == "DENY"
