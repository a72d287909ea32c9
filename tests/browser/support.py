"""What browser tests share: signing in through the real login form."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.admin_support import PASSWORD


def sign_in(page: Page, user: str, *, then: str) -> None:
    """Fill in the sign-in form the page shows (with the accounts' test password), submit it,
    and wait until the page the login leads to (`then`, a URL glob) has loaded."""
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(then)
