"""The web layer: thin routes over kb's core. Only kb.cli imports kb.web.app."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor

from kb.content.model import LANG_PATTERN


class LangConvertor(Convertor[str]):
    """A two-letter language code: keeps /{lang}/... routes apart from /api, /admin, /static."""

    regex = LANG_PATTERN

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("lang", LangConvertor())
