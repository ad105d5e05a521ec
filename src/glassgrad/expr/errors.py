"""The two errors of the expression language: ``ParseError`` for text that is not a formula, and
``ExpressionError`` for a formula that cannot be evaluated as asked (a variable without a value).

Both subclass ``ValueError``. A ``ParseError`` message is one standalone summary line, then the
text with a caret under the offending column, so a person sees at once what to fix.
"""

# A caret display wider than this shows a window of the text around the column instead.
EXCERPT_WIDTH = 72


class ParseError(ValueError):
    """The text is not a formula of the language; ``problem``, ``column`` (1-based) and ``text``
    say what and where.

    >>> print(ParseError("unknown function 'system'", "system(x)", 1))
    unknown function 'system' at column 1: system(x)
                                           ^
    """

    def __init__(self, problem, text, column):
        self.problem = problem
        self.text = text
        self.column = column
        super().__init__(_caret_message(problem, text, column))


class ExpressionError(ValueError):
    """A parsed formula cannot be evaluated as asked, e.g. a variable has no value."""


def _caret_message(problem, text, column):
    """``problem at column N: text`` on one line, and a caret under column N on the next."""
    shown, caret_offset = _excerpt(text, column)
    head = f"{problem} at column {column}: "
    return f"{head}{shown}\n{' ' * (len(head) + caret_offset)}^"


def _excerpt(text, column):
    """The text as one printable line (at most about EXCERPT_WIDTH characters around ``column``)
    and the caret's offset in it."""
    # One character in, one character out, so the caret stays aligned with the column.
    line = "".join(ch if ch.isprintable() else " " for ch in text)
    index = column - 1
    if len(line) <= EXCERPT_WIDTH:
        return line, index
    start = max(0, min(index - EXCERPT_WIDTH // 2, len(line) - EXCERPT_WIDTH))
    end = start + EXCERPT_WIDTH
    prefix = "..." if start > 0 else ""
    suffix = "..." if end < len(line) else ""
    return prefix + line[start:end] + suffix, len(prefix) + index - start
