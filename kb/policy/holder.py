"""PolicyHolder: the one place that says which policy version the site serves now.

One holder is made per app (create_app) or per command (the CLI) and handed to whoever reads
the version: the Site renders snippets with it and caches renderings by its version (so the
search index's fingerprints follow it too), and PolicyService (kb.policy.live) is the only
writer in a server, setting each version it accepts. Readers take `current` once and use that
object, so a rendering never mixes two versions.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from kb.policy.document import Policy
from kb.policy.sources import load_file

log = logging.getLogger("kb.policy")


class PolicyHolder:
    def __init__(self, policy: Policy | None = None) -> None:
        self._current = policy  # replaced whole, never mutated: a reference swap is atomic

    @classmethod
    def from_file(cls, root: Path) -> PolicyHolder:
        """Serving the tree's policy.yaml as it is now (kb index, the search build process)."""
        return cls(read_policy_file(root))

    @property
    def current(self) -> Policy | None:
        """The version served now; None renders every snippet as unavailable."""
        return self._current

    @property
    def version(self) -> str:
        """The hash of the version served now, '' without policy data (cache keys, ETags)."""
        return self._current.version if self._current is not None else ""

    @property
    def updated(self) -> date | None:
        """The "as of" date of the version served now."""
        return self._current.date if self._current is not None else None

    def set(self, policy: Policy | None) -> Policy | None:
        """Serve `policy` from now on; the version served until now is returned."""
        previous, self._current = self._current, policy
        return previous


def read_policy_file(root: Path) -> Policy | None:
    """The tree's policy.yaml; None when it is missing or invalid, its problems logged
    (`kb check` reports them itself, through load_file)."""
    policy, problems = load_file(root)
    for problem in problems:
        log.warning("policy problem: %s", problem)
    return policy
