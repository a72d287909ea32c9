"""Policy snippets: article text bound to the live policy data (kb.policy).

Syntax (documented for editors in the article "How to show policy data in an article"):

- inline value: `{{ premium.commitment.months }}` anywhere in running text;
- block snippets, each alone on its line: `::terms[premium]`, `::scope[premium.scope]`,
  `::code[codes.vip]` and `::comparison[premium.offers]`.

Parsing only records what was asked for; a core rule then resolves every snippet against
env["policy"] in env["lang"], so the same tokens give `kb check` its problems (line, message)
and the page its HTML. An unknown key or snippet never raises: it renders a visible
"unavailable" marker, is appended to env["problems"] and is logged. Every key a rendering read
goes to env["policy_keys"], so the site knows which pages a policy change affects.
"""

from __future__ import annotations

import difflib
import html
import logging
import re
from collections.abc import Callable, MutableMapping
from datetime import date
from typing import Any

from babel.lists import format_list
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from kb import i18n
from kb.i18n import N_
from kb.policy.document import Policy, Resolved, text_in
from kb.policy.schema import KEY_RE
from kb.policy.sources import POLICY_FILE

log = logging.getLogger("kb.policy")

INLINE_RE = re.compile(r"\{\{\s*([^{}\n]{1,120}?)\s*\}\}")
BLOCK_RE = re.compile(r"^::([A-Za-z][\w-]*)(?:\[([^\]\n]*)\])?\s*$")
SNIPPETS = ("terms", "scope", "code", "comparison")
# Spanish writes "e", not "y", before a word that starts with an /i/ sound ("francés e inglés");
# CLDR's list pattern (Babel's format_list) always says "y".
_SPANISH_E = re.compile(r"(?:i|hi)(?![aeiouáéíóú])", re.IGNORECASE)
_EXAMPLES = {"terms": "premium", "scope": "premium.scope", "code": "codes.vip", "comparison": "premium.offers"}
_TAG_RE = re.compile(r"<[^>]+>")
# Where a block of a snippet's HTML ends: a line of its prose (Rendered.prose)
_BLOCK_END_RE = re.compile(r"</(?:p|li|dd|dt|h[1-6]|caption|tr|div)>|<br>")


# --- parsing ------------------------------------------------------------------------------------


def _inline_rule(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("{{", state.pos):
        return False
    match = INLINE_RE.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        token = state.push("policy_value", "", 0)
        token.meta = {"key": match.group(1).strip()}
        token.content = match.group(0)
    state.pos = match.end()
    return True


def _block_rule(state: StateBlock, start: int, end: int, silent: bool) -> bool:
    if state.is_code_block(start):
        return False
    begin = state.bMarks[start] + state.tShift[start]
    line = state.src[begin:state.eMarks[start]]
    match = BLOCK_RE.match(line)
    if match is None:
        return False
    if silent:
        return True
    token = state.push("policy_block", "div", 0)
    token.map = [start, start + 1]
    token.block = True
    token.meta = {"name": match.group(1), "key": (match.group(2) or "").strip()}
    state.line = start + 1
    return True


# --- resolving ----------------------------------------------------------------------------------


class _Context:
    """What one resolution needs: the policy, the language, and where to report."""

    def __init__(self, env: MutableMapping[str, Any]) -> None:
        self.policy: Policy | None = env.get("policy")
        self.lang: str = env.get("lang") or "en"
        self.problems: list[tuple[int, str]] = env.setdefault("problems", [])
        self.keys: set[str] = env.setdefault("policy_keys", set())
        self.ids: dict[str, int] = env.setdefault("policy_ids", {})
        self.checking = bool(env.get("checking"))  # kb check reports problems; pages log them

    @property
    def served(self) -> Policy:
        """The policy, once a lookup succeeded (lookups fail without one)."""
        assert self.policy is not None, "resolve a key before drawing it"
        return self.policy

    def _(self, message: str, **values: Any) -> str:
        text = i18n.gettext(self.lang, message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        return i18n.translations(self.lang).ngettext(singular, plural, count) % {"num": count}

    def text(self, value: dict[str, str]) -> str:
        return text_in(value, self.lang)

    def join(self, items: list[str]) -> str:
        try:
            joined = format_list(items, locale=self.lang) if items else ""
        except ValueError:  # an unknown locale
            return ", ".join(items)
        head, y, last = joined.rpartition(" y ")
        if self.lang == "es" and y and last == items[-1] and _SPANISH_E.match(last):
            return f"{head} e {last}"
        return joined

    def fail(self, line: int, message: str) -> str:
        self.problems.append((line, message))
        if not self.checking:
            log.warning("policy snippet unavailable (%s, line %d): %s", self.lang, line, message)
        label = html.escape(self._(N_("unavailable")))
        return f'<span class="snippet-unavailable" role="note">[{label}]</span>'

    def fail_block(self, line: int, message: str) -> str:
        return f"<p>{self.fail(line, message)}</p>\n"

    def lookup(self, key: str, line: int) -> Resolved | str:
        """The resolved key, or the HTML of an "unavailable" marker (problem recorded)."""
        self.keys.add(key)
        if not KEY_RE.match(key):
            return self.fail(line, f"{key!r} is not a policy key (lowercase words joined by dots, "
                                   "e.g. premium.commitment.months)")
        if self.policy is None:
            return self.fail(line, f"unknown policy key {key!r}: no policy data is loaded "
                                   f"({POLICY_FILE} is missing or invalid)")
        found = self.policy.resolve(key)
        if found is None:
            close = difflib.get_close_matches(key, self.policy.keys, n=1, cutoff=0.75)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            return self.fail(line, f"unknown policy key {key!r}{hint}")
        return found

    def anchor(self, name: str, key: str) -> str:
        base = "policy-" + name + ("-" + re.sub(r"[^a-z0-9]+", "-", key) if key else "")
        count = self.ids.get(base, 0) + 1
        self.ids[base] = count
        return base if count == 1 else f"{base}-{count}"

    def as_of(self) -> str:
        when = self.served.date
        shown = self._(N_("As of %(date)s"), date=i18n.format_day(when, self.lang))
        before, _, after = shown.partition(i18n.format_day(when, self.lang))
        return (f'<p class="policy-asof">{html.escape(before)}<time datetime="{when.isoformat()}">'
                f'{html.escape(i18n.format_day(when, self.lang))}</time>{html.escape(after)}</p>')


def _inline_html(ctx: _Context, found: Resolved) -> str | None:
    """A value as running text (escaped HTML), or None when the key holds a group of values."""
    value, kind = found.value, found.kind
    if kind == "text":
        return html.escape(ctx.text(value))
    if kind == "count":
        if found.spec.unit == "months":
            return html.escape(ctx.ngettext("%(num)d month", "%(num)d months", value))
        if found.spec.unit == "hours":
            return html.escape(ctx.ngettext("%(num)d hour", "%(num)d hours", value))
        return html.escape(i18n.format_number(value, ctx.lang))
    if kind == "url":
        return f'<a href="{html.escape(value)}">{html.escape(value)}</a>'
    if kind == "date":
        return html.escape(i18n.format_day(date.fromisoformat(value), ctx.lang))
    if kind == "list":
        return html.escape(ctx.join([ctx.text(v) for v in value]))
    if kind == "languages":
        return html.escape(ctx.join([_language(code, ctx.lang) for code in value]))
    if kind == "offer_refs":
        return html.escape(ctx.join([_offer_name(ctx, ref) for ref in value]))
    if kind == "offers":
        return html.escape(ctx.join([ctx.text(o["name"]) for _, o in ctx.served.offers()]))
    if kind in ("product", "offer", "code"):
        return html.escape(ctx.text(value["name"]))
    if kind == "terms":
        return f'<a href="{html.escape(value["url"])}">{html.escape(ctx.text(value["title"]))}</a>'
    return None


def _language(code: str, lang: str) -> str:
    try:
        from babel import Locale

        return str(Locale.parse(code).get_display_name(lang) or code)
    except (ValueError, LookupError):
        return code


def _offer_name(ctx: _Context, ref: str) -> str:
    return ctx.text(ctx.served.offer_name(ref))


def _resolve_inline(ctx: _Context, key: str, line: int) -> list[Token]:
    found = ctx.lookup(key, line)
    if isinstance(found, str):
        return [_html_token(found)]
    shown = _inline_html(ctx, found)
    if shown is None:
        inside = [k for k in ctx.served.keys if k.startswith(key + ".")]
        return [_html_token(ctx.fail(line, f"policy key {key!r} holds several values; show one of them "
                                           f"({', '.join(inside[:4])}) or use a block snippet"))]
    match = re.fullmatch(r"(<a [^>]*>)?([^<]*)(</a>)?", shown)
    assert match is not None, shown
    plain = html.unescape(match.group(2))
    text = Token("text", "", 0, content=plain, meta={"text": plain})
    opening = f'<span class="policy-value" data-policy-key="{html.escape(key)}">{match.group(1) or ""}'
    return [_html_token(opening), text, _html_token(f'{match.group(3) or ""}</span>')]


def _html_token(markup: str) -> Token:
    return Token("html_inline", "", 0, content=markup)


# --- block snippets -----------------------------------------------------------------------------


def _section(ctx: _Context, name: str, key: str, title: str, body: str) -> str:
    anchor = ctx.anchor(name, key)
    return (f'<section class="policy policy-{name}" id="{anchor}" data-policy-key="{html.escape(key)}" '
            f'aria-labelledby="{anchor}-title">\n<p class="policy-title" id="{anchor}-title">'
            f'<a class="policy-anchor" href="#{anchor}">{html.escape(title)}</a></p>\n{body}{ctx.as_of()}'
            f'</section>\n')


def _items(ctx: _Context, values: list[dict[str, str]], labelledby: str = "", *, capital: bool = False) -> str:
    """A list; `capital` for items also written to fit inside sentences (benefits, places)."""
    attr = f' aria-labelledby="{labelledby}"' if labelledby else ""
    texts = [ctx.text(v) for v in values]
    if capital:
        texts = [t[:1].upper() + t[1:] for t in texts]
    return f"<ul{attr}>" + "".join(f"<li>{html.escape(t)}</li>" for t in texts) + "</ul>"


def _dl(rows: list[tuple[str, str]]) -> str:
    return "<dl>\n" + "".join(f"<dt>{html.escape(label)}</dt><dd>{value}</dd>\n" for label, value in rows) + "</dl>\n"


def _terms(ctx: _Context, key: str, found: Resolved) -> str:
    product = found.value
    rows: list[tuple[str, str]] = [(ctx._(N_("Cost")), html.escape(ctx.text(product["cost"])))]
    if "phone" in product:
        rows.append((ctx._(N_("Phone")), html.escape(ctx.text(product["phone"]))))
    if "email" in product:
        rows.append((ctx._(N_("E-mail")), html.escape(ctx.text(product["email"]))))
    if "benefits" in product:
        rows.append((ctx._(N_("Benefits")), _items(ctx, product["benefits"], capital=True)))
    if "commitment" in product:
        months = ctx.ngettext("%(num)d month", "%(num)d months", product["commitment"]["months"])
        rows.append((ctx._(N_("Minimum commitment")),
                     f"{html.escape(months)}. {html.escape(ctx.text(product['commitment']['rule']))}"))
    if "refund" in product:
        refund = html.escape(ctx.text(product["refund"]["rule"]))
        if product["refund"].get("cases"):
            refund += " " + html.escape(ctx._(N_("This applies in every case, including:"))) + _items(
                ctx, product["refund"]["cases"])
        rows.append((ctx._(N_("Refunds")), refund))
    if "change" in product:
        rows.append((ctx._(N_("Changing offer")), html.escape(ctx.text(product["change"]["rule"]))))
    if "offers" in product:
        times = "".join(
            f"<li>{html.escape(ctx.text(o['name']))}: "
            f"{html.escape(ctx.ngettext('%(num)d hour', '%(num)d hours', o['response_hours']))}</li>"
            for _, o in sorted(product["offers"].items(), key=lambda item: item[1]["level"]))
        definition = html.escape(ctx.text(product["response_time"]["definition"])) if "response_time" in product else ""
        rows.append((ctx._(N_("Maximum response time")), f"<ul>{times}</ul>{definition}"))
    if "emergency" in product:
        emergency = product["emergency"]
        available = ctx._(N_("Available with %(offers)s, only in %(languages)s."),
                          offers=ctx.join([_offer_name(ctx, r) for r in emergency["offers"]]),
                          languages=ctx.join([_language(c, ctx.lang) for c in emergency["languages"]]))
        rows.append((ctx._(N_("24/7 emergency calls")),
                     f"{html.escape(available)} {html.escape(ctx.text(emergency['purpose']))}"))
    if "managed_in" in product:
        rows.append((ctx._(N_("Managed in")), html.escape(ctx.text(product["managed_in"]))))
    if "terms" in product:
        rows.append((ctx._(N_("Governing terms")), _inline_html(ctx, Resolved(f"{key}.terms", "terms",
                                                                              product["terms"], found.spec)) or ""))
    title = ctx._(N_("%(name)s: the terms"), name=ctx.text(product["name"]))
    return _section(ctx, "terms", key, title, _dl(rows))


def _scope(ctx: _Context, key: str, found: Resolved) -> str:
    scope = found.value
    anchor_in, anchor_out = ctx.anchor("scope-in", key), ctx.anchor("scope-out", key)
    label_in, label_out = ctx._(N_("In scope")), ctx._(N_("Out of scope"))
    body = (f'<div class="policy-scope-in"><p id="{anchor_in}">{html.escape(label_in)}</p>'
            f'{_items(ctx, scope["in"], anchor_in)}</div>\n'
            f'<div class="policy-scope-out"><p id="{anchor_out}">{html.escape(label_out)}</p>'
            f'{_items(ctx, scope["out"], anchor_out)}</div>\n')
    owner = ctx.served.resolve(key.split(".")[0])  # the product the scope belongs to, for the title
    name = ctx.text(owner.value["name"]) if owner is not None and owner.kind == "product" else ""
    title = ctx._(N_("%(name)s: what is covered"), name=name) if name else ctx._(N_("What is covered"))
    return _section(ctx, "scope", key, title, body)


def _code(ctx: _Context, key: str, found: Resolved) -> str:
    code = found.value
    rows = [
        (ctx._(N_("What it is")), html.escape(ctx.text(code["what"]))),
        (ctx._(N_("Who has it")), html.escape(ctx.text(code["who"]))),
        (ctx._(N_("Where to find it")), _items(ctx, code["where"], capital=True)),
    ]
    if "not_to_confuse" in code:
        rows.append((ctx._(N_("Not to be confused with")), html.escape(ctx.text(code["not_to_confuse"]))))
    if "access" in code:
        rows.append((ctx._(N_("Temporary access for Support")), html.escape(ctx.text(code["access"]))))
    return _section(ctx, "code", key, ctx.text(code["name"]), _dl(rows))


def _comparison(ctx: _Context, key: str, found: Resolved) -> str:
    ctx.keys.update({"premium.cost", "premium.benefits", "premium.emergency", "standard"})
    premium = ctx.served.data["premium"]
    standard = ctx.served.data.get("standard")
    offers = ctx.served.offers()
    emergency = set(premium["emergency"]["offers"])
    span = f' colspan="{len(offers)}"' if len(offers) > 1 else ""
    head = [f'<th scope="col">{html.escape(ctx.text(o["name"]))}</th>' for _, o in offers]
    cost = [f"<td{span}>{html.escape(ctx.text(premium['cost']))}</td>"]
    contact = [f"<td{span}>{_items(ctx, premium['benefits'], capital=True)}</td>"]
    hours = [f"<td>{html.escape(ctx.ngettext('%(num)d hour', '%(num)d hours', o['response_hours']))}</td>"
             for _, o in offers]
    yes, no = html.escape(ctx._(N_("Yes"))), html.escape(ctx._(N_("No")))
    urgent = [f"<td>{yes if k in emergency else no}</td>" for k, _ in offers]
    if standard:
        head.insert(0, f'<th scope="col">{html.escape(ctx.text(standard["name"]))}</th>')
        cost.insert(0, f"<td>{html.escape(ctx.text(standard['cost']))}</td>")
        phone = ctx._(N_("Phone: %(hours)s"), hours=ctx.text(standard["phone"]))
        email = ctx._(N_("E-mail: %(hours)s"), hours=ctx.text(standard["email"]))
        contact.insert(0, f"<td>{html.escape(phone)}<br>{html.escape(email)}</td>")
        not_guaranteed = ctx._(N_("Not guaranteed"))
        hours.insert(0, f"<td>{html.escape(not_guaranteed)}</td>")
        urgent.insert(0, f"<td>{no}</td>")
    rows = [(N_("Cost"), cost), (N_("Contact and benefits"), contact), (N_("Maximum response time"), hours),
            (N_("24/7 emergency calls"), urgent)]
    anchor = ctx.anchor("comparison", key)
    body = "".join(f'<tr><th scope="row">{html.escape(ctx._(label))}</th>{"".join(cells)}</tr>\n'
                   for label, cells in rows)
    caption = html.escape(ctx._(N_("The support offers compared")))
    return (f'<div class="policy policy-comparison" id="{anchor}" data-policy-key="{html.escape(key)}">\n'
            # scrolls sideways on a phone: a focusable region named by the caption (kb.render.tables)
            f'<div class="table-scroll" role="region" tabindex="0" aria-labelledby="{anchor}-caption">\n'
            f'<table>\n<caption id="{anchor}-caption"><a class="policy-anchor" href="#{anchor}">{caption}</a></caption>\n'
            f'<thead><tr><td></td>{"".join(head)}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>\n</div>\n'
            f'{ctx.as_of()}</div>\n')


# kind the key must hold -> how to draw it; a product key is accepted for its part (premium -> premium.scope)
_BLOCKS: dict[str, tuple[str, str | None, Callable[[_Context, str, Resolved], str]]] = {
    "terms": ("product", None, _terms),
    "scope": ("scope", "scope", _scope),
    "code": ("code", None, _code),
    "comparison": ("offers", "offers", _comparison),
}


def _resolve_block(ctx: _Context, name: str, key: str, line: int) -> str:
    if name not in _BLOCKS:
        close = difflib.get_close_matches(name, SNIPPETS, n=1)
        hint = f"did you mean ::{close[0]}? " if close else ""
        return ctx.fail_block(line, f"unknown snippet ::{name} ({hint}snippets: "
                              f"{', '.join('::' + s for s in SNIPPETS)})")
    kind, part, draw = _BLOCKS[name]
    if not key:
        return ctx.fail_block(line, f"::{name} needs a policy key in brackets, e.g. ::{name}[{_EXAMPLES[name]}]")
    found = ctx.lookup(key, line)
    if isinstance(found, str):
        return f"<p>{found}</p>\n"
    if found.kind == "product" and part is not None:
        inner = ctx.served.resolve(f"{key}.{part}")
        if inner is not None:
            key, found = inner.key, inner
            ctx.keys.add(key)
    if found.kind != kind:
        return ctx.fail_block(line, f"::{name} shows {kind} data, e.g. ::{name}[{_EXAMPLES[name]}]; "
                              f"{key!r} holds {found.kind} data")
    ctx.keys.add("updated")
    return draw(ctx, key, found)


def _resolve(state: StateCore) -> None:
    ctx = _Context(state.env)
    for token in state.tokens:
        if token.type == "policy_block":
            line = token.map[0] + 1 if token.map else 1
            markup = _resolve_block(ctx, token.meta["name"], token.meta["key"], line)
            token.meta["html"] = markup
            token.meta["text"] = html.unescape(_TAG_RE.sub(" ", markup))
            token.meta["prose"] = _prose(markup)
        elif token.type == "inline" and token.children and any(
                c.type == "policy_value" for c in token.children):
            line = token.map[0] + 1 if token.map else 1
            children: list[Token] = []
            for child in token.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                if child.type == "policy_value":
                    children.extend(_resolve_inline(ctx, child.meta["key"], line))
                else:
                    children.append(child)
            token.children = children


def _prose(markup: str) -> str:
    """A block snippet's text, one line per block, a term followed by a colon (its definition
    then reads as what the term says, not as more words of it)."""
    markup = re.sub(r"\s*</dt>", ":</dt>", markup)
    markup = re.sub(r"</t[hd]>", "; ", markup)
    lines = (html.unescape(_TAG_RE.sub(" ", part)) for part in _BLOCK_END_RE.split(markup))
    return "\n".join(" ".join(line.split()).strip(" ;") for line in lines if line.strip(" ;\n"))


def _render_block(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return str(tokens[idx].meta.get("html", ""))


def snippets_plugin(md: MarkdownIt) -> None:
    md.inline.ruler.before("emphasis", "policy_value", _inline_rule)
    md.block.ruler.before("paragraph", "policy_block", _block_rule,
                          {"alt": ["paragraph", "reference", "blockquote", "list"]})
    md.core.ruler.after("inline", "kb_policy", _resolve)
    md.add_render_rule("policy_block", _render_block)
