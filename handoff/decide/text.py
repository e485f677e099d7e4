"""Text preparation shared by every rule: strip what the customer quoted, normalise, tokenise.

Keyword cues must not fire on words the customer *mentions* rather than *says*: text inside code fences,
inline code, quotation marks and ``>`` quoted lines (:func:`strip_quoted` removes those), and the word
after a mention marker such as "the word ERROR appears in my template" (masked at token level by
:mod:`handoff.decide.analysis`). :func:`normalise` folds case, accents and apostrophes so that "Don\u2019t",
"dont" and "don't" compare equal; :func:`tokens` splits the result into words and clause-boundary
punctuation, which the negation check needs.
"""

from __future__ import annotations

import re
import unicodedata

# One pass removes every quoted or code span. Order matters: fences before inline code before quotes.
_QUOTED = re.compile(
    r"```.*?(?:```|\Z)"  # fenced code block (unterminated: to the end)
    r"|`[^`\n]+`"  # inline code
    r"|\"[^\"\n]{1,300}\""  # "straight double quotes"
    r"|\u201c[^\u201d\n]{1,300}\u201d"  # “curly double quotes”
    r"|\u201e[^\u201c\u201d\n]{1,300}[\u201c\u201d]"  # „German quotes“
    r"|\u00ab[^\u00bb\n]{1,300}\u00bb"  # «guillemets»
    r"|(?<![\w'])'[^'\n]{1,80}'(?![\w])"  # 'single quotes' (not apostrophes inside words)
    r"|\u2018[^\u2019\n]{1,80}\u2019(?![\w])"  # curly single quotes
    r"|^[ \t]*>[^\n]*",  # > quoted line (a pasted e-mail or an earlier message)
    re.DOTALL | re.MULTILINE,
)
_QUOTE_CHARS = frozenset('`"\u201c\u201e\u00ab\u2018>')

_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]+`", re.DOTALL)

# French and Italian elisions ("l'avocat", "n'est") become two words; other apostrophes vanish ("don't" -> "dont").
_ELISION = re.compile(r"\b(qu|[cdjlmnst])'(?=\w)")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_ELISION_ANY_CASE = re.compile(r"\b(qu|[cdjlmnst])'(?=\w)", re.IGNORECASE)
_TOKEN = re.compile(r"[^\W_]+|[.!?;:,()\n]")
_DISPLAY_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*|[.!?;:,()\n]")

BOUNDARY_TOKENS = frozenset(".!?;:,()\n")


def strip_quoted(text: str) -> str:
    """Remove code, quoted spans and ``>`` quoted lines, keeping the words the customer said in their own voice.

    Args:
        text: the raw message.

    Returns:
        The message with every quoted or code span replaced by a space.
    """
    if _QUOTE_CHARS.isdisjoint(text) and " '" not in text and not text.startswith("'"):
        return text
    return _QUOTED.sub(" ", text)


def has_code(text: str) -> bool:
    """Whether the message holds a code fence or inline code span."""
    return "`" in text and _CODE.search(text) is not None


def fold(text: str) -> str:
    """Case-fold and strip accents: "Rückerstattung" -> "ruckerstattung", "Weiß" -> "weiss"."""
    text = text.casefold()
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Fold case, accents and apostrophes, and split elisions, ready for :func:`tokens`."""
    text = fold(text.translate(_APOSTROPHES))
    if "'" in text:
        text = _ELISION.sub(r"\1 ", text).replace("'", "")
    return text


def tokens(normalised: str) -> list[str]:
    """Split normalised text into word tokens and clause-boundary punctuation tokens."""
    return _TOKEN.findall(normalised)


def words(text: str) -> list[str]:
    """Normalise and tokenise ``text``, keeping only the words (used for rule-file phrases and skills)."""
    return [t for t in tokens(normalise(text)) if t not in BOUNDARY_TOKENS]


def display_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the tokens of ``text``, aligned one-to-one with ``tokens(normalise(text))``.

    Used to quote the customer's own words (case, accents and apostrophes kept) for a cue found in tokens.
    """
    text = text.translate(_APOSTROPHES)
    if "'" in text:  # same-length edits only, so spans index the original text
        text = _ELISION_ANY_CASE.sub(lambda m: m.group(1) + " ", text)
    return [m.span() for m in _DISPLAY_TOKEN.finditer(text)]
