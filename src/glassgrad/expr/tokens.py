"""The tokenizer: formula text to a list of ``Token`` (numbers, names, operators, brackets).

Everything the language does not have is refused here with a ``ParseError`` that names it:
attribute access, subscripts, strings, Python keywords, reserved ``__dunder__`` names and stray
characters. Only ASCII is read, so look-alike Unicode digits or letters never slip through.
"""

import keyword
import re
from typing import NamedTuple

from .errors import ParseError

MAX_LENGTH = 10_000

NUMBER, NAME, OPERATOR, LPAREN, RPAREN, COMMA, END = (
    "number", "name", "operator", "(", ")", ",", "end of input")

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_OPERATORS = ("**", "+", "-", "*", "/", "^")
_PUNCTUATION = {"(": LPAREN, ")": RPAREN, ",": COMMA}
_WHITESPACE = " \t\n\r"
# Characters that mean the writer expected Python; each gets its own explanation.
_REFUSED = {
    ".": "attribute access '.' is not allowed",
    "[": "subscripts '[' are not allowed",
    "]": "subscripts ']' are not allowed",
    "'": "strings are not allowed",
    '"': "strings are not allowed",
}


class Token(NamedTuple):
    """One token: its kind, its text, and the 1-based column where it starts."""

    kind: str
    text: str
    column: int

    def describe(self):
        """How an error message names this token: ``name 'x'``, ``')'``, ``end of input``."""
        if self.kind == END:
            return END
        if self.kind in (NUMBER, NAME):
            return f"{self.kind} '{self.text}'"
        return f"'{self.text}'"


def tokenize(text):
    """The tokens of ``text``, ending with an END token; ParseError for anything not in the language.

    >>> [t.text for t in tokenize("2*x**-1")]
    ['2', '*', 'x', '**', '-', '1', '']
    """
    if not isinstance(text, str):
        raise TypeError(f"a formula must be a str, not {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ParseError(f"input is {len(text):,} characters long; the limit is {MAX_LENGTH:,}",
                         text, MAX_LENGTH + 1)
    tokens = []
    index = 0
    while index < len(text):
        if text[index] in _WHITESPACE:
            index += 1
            continue
        token = _read_token(text, index)
        tokens.append(token)
        index += len(token.text)
    tokens.append(Token(END, "", len(text) + 1))
    return tokens


def _read_token(text, index):
    """The token that starts at ``text[index]`` (not whitespace)."""
    column = index + 1
    char = text[index]
    number = _NUMBER.match(text, index)
    if number:
        return _number_token(text, number, column)
    name = _NAME.match(text, index)
    if name:
        return _name_token(text, name.group(), column)
    for operator in _OPERATORS:
        if text.startswith(operator, index):
            return Token(OPERATOR, operator, column)
    if char in _PUNCTUATION:
        return Token(_PUNCTUATION[char], char, column)
    problem = _REFUSED.get(char, f"unexpected character {char!r}")
    raise ParseError(problem, text, column)


def _number_token(text, match, column):
    """A number token, refusing numbers glued to a name (``2x``, ``1e``, ``1.5e+``)."""
    end = match.end()
    if end < len(text) and (text[end].isalnum() or text[end] in "_."):
        raise ParseError(f"malformed number '{match.group()}{text[end]}'", text, column)
    return Token(NUMBER, match.group(), column)


def _name_token(text, name, column):
    """A name token, refusing Python keywords and reserved dunder names."""
    if keyword.iskeyword(name):
        raise ParseError(f"keyword '{name}' is not allowed", text, column)
    if name.startswith("__"):
        raise ParseError(f"reserved name '{name}' is not allowed", text, column)
    return Token(NAME, name, column)
