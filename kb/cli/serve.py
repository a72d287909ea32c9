"""`kb serve`: run the web site under uvicorn."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from kb.cli.common import add_command
from kb.config import SETTINGS, Settings

if TYPE_CHECKING:
    from kb.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "serve", cmd_serve, help="run the web site")
    parser.add_argument("--host", default=None, help="address to listen on [KB_HOST]")
    parser.add_argument("--port", default=None, help="port to listen on [KB_PORT]")
    parser.add_argument("--reload", action="store_true",
                        help="restart when the code changes (development)")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    if settings.content_remote:  # a refused clone is a clear message here, not a failed start-up
        from kb.content.remote import ContentRemote

        ContentRemote(settings.content_dir, settings.content_remote).prepare()
    # The app is built by a factory in the server process (also under --reload), so the
    # resolved settings travel as KB_* variables.
    for spec in SETTINGS:
        value = getattr(settings, spec.name)
        os.environ[spec.env] = str(value).lower() if isinstance(value, bool) else str(value)
    uvicorn.run("kb.web.app:app_from_environment", factory=True, host=settings.host,
                port=settings.port, reload=args.reload, proxy_headers=True, log_level="info")
    return 0
