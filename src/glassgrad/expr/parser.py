"""The parser: tokens to an ``Expression`` tree by operator-precedence parsing with explicit stacks.

It alternates between two states, expecting an operand (number, name, call, '(' or a sign) and
expecting an operator (binary operator, ')' , ',' or the end), which gives every error a precise
message. The stacks are ordinary lists, so hostile nesting can never raise RecursionError; the
depth limit is a policy, checked as each '(' opens.
"""

import math

from .errors import ParseError
from .functions import FUNCTIONS
from .nodes import (BINARY_PRECEDENCE, RIGHT_ASSOCIATIVE, UNARY, Binary, Call, Name, Number,
                    Unary)
from .tokens import COMMA, END, LPAREN, NAME, NUMBER, OPERATOR, RPAREN, tokenize

MAX_DEPTH = 200
# Integer literals longer than this are read as floats: they would not fit a tensor's int64.
MAX_INTEGER_DIGITS = 15


def parse(text):
    """The ``Expression`` that ``text`` denotes; ``ParseError`` if it is not a formula.

    >>> print(parse("-x**2 + 2^3^2"))
    -x ** 2 + 2 ** 3 ** 2
    """
    return _Parser(text).parse()


class _Operator:
    """An entry of the operator stack: a pending binary or unary operator, '(' or a call."""

    __slots__ = ("kind", "op", "token", "argument_count")

    def __init__(self, kind, op, token):
        self.kind = kind  # "binary", "unary", "paren" or "call"
        self.op = op
        self.token = token
        self.argument_count = 0

    @property
    def precedence(self):
        return UNARY if self.kind == "unary" else BINARY_PRECEDENCE[self.op]


class _Parser:
    """One parse of one text: the token list, the operand and operator stacks, the open depth."""

    def __init__(self, text):
        self.text = text
        self.tokens = tokenize(text)
        self.operands = []
        self.operators = []
        self.depth = 0
        self.position = 0

    def parse(self):
        if self.tokens[0].kind == END:
            raise self.error("empty expression", self.tokens[0])
        expecting_operand = True
        while True:
            token = self.advance()
            if expecting_operand:
                expecting_operand = self.read_operand(token)
            elif token.kind == END:
                self.finish()
                return self.operands.pop()
            else:
                expecting_operand = self.read_operator(token)

    def advance(self):
        token = self.tokens[self.position]
        self.position += 1
        return token

    def error(self, problem, token):
        return ParseError(problem, self.text, token.column)

    # -- expecting an operand --------------------------------------------------------------------

    def read_operand(self, token):
        """Take an operand-position token; True while an operand is still expected."""
        if token.kind == NUMBER:
            self.operands.append(self.number(token))
            return False
        if token.kind == NAME:
            return self.read_name(token)
        if token.kind == OPERATOR and token.text in "+-":
            self.operators.append(_Operator("unary", token.text, token))
            return True
        if token.kind == LPAREN:
            self.open(_Operator("paren", None, token))
            return True
        if token.kind == RPAREN and self.operators and self.operators[-1].kind == "call" \
                and self.operators[-1].argument_count == 0:
            raise self.call_arity_error(self.operators[-1], 0)
        if token.kind == END:
            raise self.error("unexpected end of input: an operand is missing", token)
        raise self.error(f"expected a number, name or '(' but found {token.describe()}", token)

    def number(self, token):
        value = _number_value(token.text)
        if not math.isfinite(value):
            raise self.error(f"number '{token.text}' is too large", token)
        return Number(value)

    def read_name(self, token):
        """A variable, a constant, or the start of a call ``name(``."""
        name = token.text
        if self.tokens[self.position].kind == LPAREN:
            if name not in FUNCTIONS:
                raise self.error(f"unknown function '{name}'", token)
            self.advance()  # the call's '(' belongs to the call entry
            self.open(_Operator("call", name, token))
            return True
        if name in FUNCTIONS:
            raise self.error(f"function '{name}' is used without '(...)'", token)
        self.operands.append(Name(name))
        return False

    def open(self, entry):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"nesting deeper than {MAX_DEPTH} levels", entry.token)
        self.operators.append(entry)

    # -- expecting an operator -------------------------------------------------------------------

    def read_operator(self, token):
        """Take an operator-position token; True when an operand must follow."""
        if token.kind == OPERATOR:
            op = "**" if token.text == "^" else token.text
            self.reduce_while_binding_tighter(op)
            self.operators.append(_Operator("binary", op, token))
            return True
        if token.kind == RPAREN:
            self.close(token)
            return False
        if token.kind == COMMA:
            self.reduce_to_open(token).argument_count += 1
            return True
        raise self.error(f"expected an operator or the end but found {token.describe()}", token)

    def reduce_while_binding_tighter(self, op):
        """Apply the pending operators that take the operand before ``op`` (precedence climbing)."""
        precedence = BINARY_PRECEDENCE[op]
        while self.operators and self.operators[-1].kind in ("binary", "unary"):
            top = self.operators[-1].precedence
            if top < precedence or (top == precedence and op in RIGHT_ASSOCIATIVE):
                break
            self.apply(self.operators.pop())

    def reduce_to_open(self, token):
        """Apply operators back to the innermost open '(' or call, which stays on the stack."""
        while self.operators and self.operators[-1].kind in ("binary", "unary"):
            self.apply(self.operators.pop())
        if token.kind == COMMA and (not self.operators or self.operators[-1].kind != "call"):
            raise self.error("',' outside a function call", token)
        if not self.operators:
            raise self.error("unmatched ')'", token)
        return self.operators[-1]

    def close(self, token):
        """A ')' ends a parenthesised operand or a call's argument list."""
        entry = self.reduce_to_open(token)
        self.operators.pop()
        self.depth -= 1
        if entry.kind == "call":
            count = entry.argument_count + 1
            if count != FUNCTIONS[entry.op].arity:
                raise self.call_arity_error(entry, count)
            arguments = self.operands[len(self.operands) - count:]
            del self.operands[len(self.operands) - count:]
            self.operands.append(Call(entry.op, arguments))

    def finish(self):
        """At the end of input every operator applies, and no '(' may be left open."""
        while self.operators:
            entry = self.operators.pop()
            if entry.kind in ("paren", "call"):
                raise self.error("'(' is never closed", entry.token)
            self.apply(entry)

    def apply(self, entry):
        if entry.kind == "unary":
            self.operands.append(Unary(entry.op, self.operands.pop()))
        else:
            right = self.operands.pop()
            self.operands.append(Binary(entry.op, self.operands.pop(), right))

    def call_arity_error(self, entry, count):
        arity = FUNCTIONS[entry.op].arity
        plural = "argument" if arity == 1 else "arguments"
        return self.error(f"function '{entry.op}' takes {arity} {plural}, got {count}", entry.token)


def _number_value(literal):
    """An int for a short integer literal, otherwise a float (inf when it overflows)."""
    significant = literal.lstrip("0")
    if literal.isdigit() and len(significant) <= MAX_INTEGER_DIGITS:
        # int() of the significant digits only: Python refuses to read over 4,300 digits, and
        # leading zeros count ("000...0" with 5,000 zeros is a valid way to write 0).
        return int(significant or "0")
    return float(literal)
