"""What a person clicks: Debian's Chromium driven by Playwright."""
