"""The web layer: thin routes over kb's core. Only kb.cli imports kb.web.app."""

from __future__ import annotations

from starlette.convertors import Convertor, register_url_convertor


class LangConvertor(Convertor[str]):
    """A two-letter language code: keeps /{lang}/... routes apart from /api, /admin, /static."""

    regex = "[a-z]{2}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("lang", LangConvertor())
