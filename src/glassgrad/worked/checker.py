"""Check a student's hand-computed answers against a worked solution.

`check_answers(solution, {"h1": 0.5933, "dE/dw5": 0.0822, "new w5": 0.3589})` marks each value
right or wrong within a stated tolerance and names the first step, in calculation order, that
went wrong, with what it should have been: the instructor grades, the student finds the slip.
"""

import difflib
import math
import re
from dataclasses import dataclass, field

from .notation import format_number

DEFAULT_REL_TOL = 1e-3
DEFAULT_ABS_TOL = 1e-6


@dataclass(frozen=True)
class AnswerCheck:
    """One submitted value compared with the solution's."""
    name: str
    given: object
    correct: float
    is_right: bool
    position: int          # index in the solution's calculation order
    working: str           # the formula with numbers, to show what it should have been


@dataclass
class CheckReport:
    """Every submitted answer (in calculation order), unknown names (with the solution's names
    closest to each), and the first wrong step."""
    checks: list
    unknown: list = field(default_factory=list)
    suggestions: dict = field(default_factory=dict)  # unknown name -> close names, best first
    rel_tol: float = DEFAULT_REL_TOL
    abs_tol: float = DEFAULT_ABS_TOL

    @property
    def first_wrong(self):
        return next((check for check in self.checks if not check.is_right), None)

    @property
    def all_correct(self):
        return self.first_wrong is None and not self.unknown

    @property
    def score(self):
        return sum(check.is_right for check in self.checks), len(self.checks)

    def text(self):
        right, total = self.score
        missing = f"; {len(self.unknown)} not in the solution" if self.unknown else ""
        lines = [f"{right} of {total} answers right (relative tolerance {self.rel_tol:g}, "
                 f"absolute {self.abs_tol:g}){missing}"]
        for check in self.checks:
            mark = "right" if check.is_right else "WRONG"
            lines.append(f"  {mark:5}  {check.name} = {check.given!r}   "
                         f"(correct: {format_number(check.correct)})")
        for name in self.unknown:
            close = self.suggestions.get(name)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            lines.append(f"  ?      {name}: no quantity of that name in the solution{hint}")
        wrong = self.first_wrong
        if wrong is not None:
            lines.append(f"First wrong step: {wrong.name} = {wrong.given!r}; it should be "
                         f"{wrong.working} = {format_number(wrong.correct)}")
        return "\n".join(lines) + "\n"

    def to_dict(self):
        wrong = self.first_wrong
        return {"rel_tol": self.rel_tol, "abs_tol": self.abs_tol,
                "right": self.score[0], "total": self.score[1], "unknown": list(self.unknown),
                "suggestions": {name: list(close) for name, close in self.suggestions.items()},
                "first_wrong": wrong.name if wrong else None,
                "answers": [{"name": c.name, "given": c.given if _is_number(c.given) else str(c.given),
                             "correct": c.correct, "right": c.is_right} for c in self.checks]}


def normalise_name(name):
    """Accept common spellings: "E_total" -> "E", "∂E/∂w5" -> "dE/dw5", "w5_new" -> "new w5"."""
    name = " ".join(str(name).replace("∂", "d").split())
    name = re.sub(r"^dE_?total/", "dE/", name)
    name = re.sub(r"^(new|step\d+) ?E_?total$", r"\1 E", name)
    if name in ("E_total", "Etotal", "E_tot"):
        return "E"
    match = re.fullmatch(r"new_(\w+)|(\w+)_new|(\w+)\+", name)
    if match:
        return "new " + next(g for g in match.groups() if g)
    return name


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _as_number(value):
    if _is_number(value):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def check_answers(solution, answers, rel_tol=DEFAULT_REL_TOL, abs_tol=DEFAULT_ABS_TOL):
    """Compare `answers` (name -> value, any subset) with `solution`; returns a CheckReport."""
    order = {q.name: (index, q) for index, q in enumerate(solution.quantities())}
    checks, unknown = [], []
    for raw_name, given in answers.items():
        name = normalise_name(raw_name)
        if name not in order:
            unknown.append(raw_name)
            continue
        position, quantity = order[name]
        value = _as_number(given)
        is_right = value is not None and math.isclose(value, quantity.value, rel_tol=rel_tol,
                                                      abs_tol=abs_tol)
        working = f"{quantity.formula.text} = {quantity.substituted.text}"
        checks.append(AnswerCheck(name, given, quantity.value, is_right, position, working))
    checks.sort(key=lambda check: check.position)
    suggestions = {name: close for name in unknown if (close := _close_names(name, order))}
    return CheckReport(checks, unknown, suggestions, rel_tol, abs_tol)


def _close_names(name, known):
    """Up to three of the solution's names that ``name`` may be a slip for (case ignored)."""
    by_lower = {}
    for known_name in known:
        by_lower.setdefault(known_name.lower(), known_name)
    wanted = normalise_name(name).lower()
    if wanted in by_lower:  # a slip of case only: that name and no other
        return [by_lower[wanted]]
    return [by_lower[c] for c in difflib.get_close_matches(wanted, list(by_lower), n=3, cutoff=0.6)]
