"""Generate a realistic help-center corpus for benchmarks: N articles in six languages.

    python bench/corpus.py OUT_DIR [--n 10000] [--seed 1]

Each language has a few dozen real support words plus a few thousand made-up ones; words are
drawn from a Zipf distribution, as in real text, so some terms are in most articles and most
are rare. Articles have a question-like title, a summary, tags, headings and 250-600 words of
body; types are mostly FAQs, some tutorials and videos; 14 categories, a few of them nested.
The same module gives the benchmark its query streams (generate() returns the vocabulary).
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import random
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

LANGS = {"en": 0.35, "pt": 0.13, "fr": 0.13, "de": 0.13, "it": 0.13, "es": 0.13}

SEED_WORDS = {
    "en": ["account", "invoice", "payment", "refund", "cancel", "subscription", "password", "login", "email", "domain", "server", "support", "code", "premium", "offer", "upgrade", "commitment", "backup", "storage", "mailbox", "calendar", "contract", "billing", "renewal", "transfer", "security", "certificate", "website", "hosting", "database", "migration", "error", "update", "settings", "user", "team", "access", "phone", "emergency", "response", "time"],
    "pt": ["conta", "fatura", "pagamento", "reembolso", "cancelar", "assinatura", "senha", "acesso", "correio", "domínio", "servidor", "suporte", "código", "oferta", "compromisso", "cópia", "armazenamento", "caixa", "calendário", "contrato", "cobrança", "renovação", "transferência", "segurança", "certificado", "site", "hospedagem", "migração", "erro", "atualização", "configurações", "usuário", "equipe", "telefone", "emergência", "resposta"],
    "fr": ["compte", "facture", "paiement", "remboursement", "résilier", "abonnement", "mot", "passe", "connexion", "courriel", "domaine", "serveur", "support", "code", "offre", "engagement", "sauvegarde", "stockage", "messagerie", "agenda", "contrat", "facturation", "renouvellement", "transfert", "sécurité", "certificat", "hébergement", "migration", "erreur", "mise", "jour", "paramètres", "utilisateur", "équipe", "téléphone", "urgence", "réponse", "délai"],
    "de": ["konto", "rechnung", "zahlung", "rückerstattung", "kündigen", "abonnement", "passwort", "anmeldung", "postfach", "domain", "server", "support", "code", "angebot", "vertrag", "sicherung", "speicher", "kalender", "verlängerung", "übertragung", "sicherheit", "zertifikat", "webseite", "hosting", "datenbank", "umzug", "fehler", "aktualisierung", "einstellungen", "benutzer", "team", "zugang", "telefon", "notfall", "antwort", "zeit"],
    "it": ["conto", "fattura", "pagamento", "rimborso", "annullare", "abbonamento", "password", "accesso", "posta", "dominio", "server", "supporto", "codice", "offerta", "impegno", "backup", "archiviazione", "casella", "calendario", "contratto", "fatturazione", "rinnovo", "trasferimento", "sicurezza", "certificato", "sito", "hosting", "database", "migrazione", "errore", "aggiornamento", "impostazioni", "utente", "squadra", "telefono", "emergenza", "risposta"],
    "es": ["cuenta", "factura", "pago", "reembolso", "cancelar", "suscripción", "contraseña", "acceso", "correo", "dominio", "servidor", "soporte", "código", "oferta", "compromiso", "copia", "almacenamiento", "buzón", "calendario", "contrato", "facturación", "renovación", "transferencia", "seguridad", "certificado", "sitio", "alojamiento", "base", "datos", "migración", "error", "actualización", "configuración", "usuario", "equipo", "teléfono", "emergencia", "respuesta"],
}

TITLE_TEMPLATES = {
    "en": ["How do I {a} my {b}?", "Why is my {a} {b}?", "{A} and {b}: what to know", "Can I {a} the {b}?"],
    "pt": ["Como {a} a minha {b}?", "Por que a {a} está {b}?", "{A} e {b}: o que saber", "Posso {a} o {b}?"],
    "fr": ["Comment {a} mon {b} ?", "Pourquoi mon {a} est {b} ?", "{A} et {b} : l'essentiel", "Puis-je {a} le {b} ?"],
    "de": ["Wie kann ich {a} {b}?", "Warum ist mein {a} {b}?", "{A} und {b}: das Wichtigste", "Kann ich {a} {b}?"],
    "it": ["Come {a} il mio {b}?", "Perché il {a} è {b}?", "{A} e {b}: cosa sapere", "Posso {a} il {b}?"],
    "es": ["¿Cómo {a} mi {b}?", "¿Por qué mi {a} está {b}?", "{A} y {b}: lo esencial", "¿Puedo {a} el {b}?"],
}

SYLLABLES = {
    "en": ["ar", "en", "or", "al", "in", "er", "on", "an", "re", "st", "le", "ti", "co", "de", "ra", "ve", "li", "ma", "ne", "se"],
    "pt": ["ção", "de", "ra", "ta", "men", "to", "co", "pa", "sa", "li", "ve", "ri", "do", "ma", "ne", "so", "re", "gu"],
    "fr": ["tion", "de", "re", "men", "la", "ti", "con", "par", "ver", "sé", "mé", "lé", "ra", "che", "ment", "eau"],
    "de": ["ung", "ein", "ver", "ber", "sch", "ten", "lich", "keit", "ge", "an", "ach", "ter", "stel", "ruf"],
    "it": ["zio", "ne", "re", "ta", "to", "co", "la", "ri", "sta", "men", "del", "pa", "ti", "gio"],
    "es": ["ción", "de", "ra", "ta", "mien", "to", "co", "pa", "sa", "li", "ve", "ri", "do", "ma"],
}

CATEGORIES = [
    ("accounts", None), ("billing", None), ("refunds", "billing"), ("invoices", "billing"),
    ("email", None), ("domains", None), ("dns", "domains"), ("hosting", None),
    ("databases", "hosting"), ("security", None), ("backups", None), ("support", None),
    ("premium", "support"), ("migration", None),
]


@dataclass
class Corpus:
    root: Path
    n: int
    vocab: dict[str, list[str]] = field(default_factory=dict)
    titles: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # lang -> (slug, title)


class Zipf:
    def __init__(self, items: list[str], exponent: float, rng: random.Random) -> None:
        self.items = items
        self.cumulative = list(itertools.accumulate(1 / (rank ** exponent) for rank in range(1, len(items) + 1)))
        self.rng = rng

    def draw(self) -> str:
        point = self.rng.random() * self.cumulative[-1]
        return self.items[bisect.bisect_left(self.cumulative, point)]


def _vocabulary(lang: str, rng: random.Random, size: int = 4000) -> list[str]:
    words = list(SEED_WORDS[lang])
    seen = set(words)
    syllables = SYLLABLES[lang]
    while len(words) < size:
        word = "".join(rng.choice(syllables) for _ in range(rng.choice((2, 2, 3, 3, 4))))
        if word not in seen and len(word) >= 4:
            seen.add(word)
            words.append(word)
    # real words among the most frequent, made-up ones in the long tail
    head, tail = words[: len(SEED_WORDS[lang])], words[len(SEED_WORDS[lang]):]
    rng.shuffle(tail)
    return head[:20] + tail[:200] + head[20:] + tail[200:]


def _sentence(zipf: Zipf, rng: random.Random, low: int = 6, high: int = 16) -> str:
    words = [zipf.draw() for _ in range(rng.randint(low, high))]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def generate(root: Path, n: int = 10_000, seed: int = 1) -> Corpus:
    rng = random.Random(seed)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    corpus = Corpus(root, n)
    zipfs: dict[str, Zipf] = {}
    for lang in LANGS:
        corpus.vocab[lang] = _vocabulary(lang, rng)
        zipfs[lang] = Zipf(corpus.vocab[lang], 1.07, rng)
        corpus.titles[lang] = []
    categories = {}
    for order, (key, parent) in enumerate(CATEGORIES):
        categories[key] = {
            "order": order, "parent": parent,
            "title": {lang: f"{SEED_WORDS[lang][order % len(SEED_WORDS[lang])].capitalize()} {key}" for lang in LANGS},
            "description": {lang: _sentence(zipfs[lang], rng) for lang in LANGS},
        }
    (root / "categories.yaml").write_text(yaml.safe_dump(categories, allow_unicode=True), encoding="utf-8")
    langs, weights = list(LANGS), list(LANGS.values())
    for number in range(1, n + 1):
        lang = rng.choices(langs, weights)[0]
        zipf = zipfs[lang]
        a, b = zipf.draw(), zipf.draw()
        title = rng.choice(TITLE_TEMPLATES[lang]).format(a=a, b=b, A=a.capitalize())
        slug = f"a{number}-{a}-{b}".encode("ascii", "ignore").decode().replace(" ", "-")[:60].strip("-")
        slug = "".join(ch for ch in slug if ch.isalnum() or ch == "-").lower()
        kind = rng.choices(["faq", "tutorial", "video"], [6, 3, 1])[0]
        category = rng.choice(CATEGORIES)[0]
        body = []
        for _ in range(rng.randint(2, 5)):
            body.append(f"## {_sentence(zipf, rng, 2, 5)[:-1]}\n")
            body.append(" ".join(_sentence(zipf, rng) for _ in range(rng.randint(3, 6))) + "\n")
        meta = {
            "id": number, "title": title, "summary": _sentence(zipf, rng, 8, 20), "category": category,
            "tags": sorted({zipf.draw() for _ in range(rng.randint(1, 4))}), "type": kind,
            "status": "published", "updated": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        }
        if kind == "video":
            meta["video"] = f"https://media.example.com/{slug}.mp4"
        folder = root / lang / category
        folder.mkdir(parents=True, exist_ok=True)
        text = "---\n" + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False) + "---\n\n" + "\n".join(body)
        (folder / f"{slug}.md").write_text(text, encoding="utf-8")
        corpus.titles[lang].append((slug, title))
    return corpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    corpus = generate(args.out, args.n, args.seed)
    print(f"{corpus.n} articles in {args.out}")


if __name__ == "__main__":
    main()
