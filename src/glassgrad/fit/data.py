"""Reading a data table for fitting: a CSV file whose first line names the columns.

Every value must be a finite number; a problem is reported as one line with the file, the line
number and the column (``q2.csv:7: column 'y': 'abc' is not a number``), so it can be fixed.

>>> import io
>>> table = read_csv(io.StringIO("x,y\\n1,2\\n3,4.5\\n"), name="demo.csv")
>>> table.columns, table.column("y").tolist()
(('x', 'y'), [2.0, 4.5])
"""

import csv
import math
from dataclasses import dataclass

import numpy as np


class DataError(ValueError):
    """A data file that cannot be used; the message names the file, line and column."""


@dataclass(frozen=True)
class Table:
    """Named float64 columns of equal length, in file order, and where they came from."""

    source: str
    data: dict

    @property
    def columns(self):
        return tuple(self.data)

    @property
    def rows(self):
        return len(next(iter(self.data.values())))

    def column(self, name):
        return self.data[name]


def load_csv(path):
    """The table in the CSV file at ``path``; raises DataError for anything unusable."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            return read_csv(file, name=str(path))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError:
        raise DataError(f"{path}: not a text file (expected comma-separated numbers)") from None


def read_csv(file, name="<data>"):
    """The table in an open text ``file`` (``name`` is used in messages)."""
    lines = ((number, row) for number, row in enumerate(csv.reader(file), start=1)
             if any(cell.strip() for cell in row))  # blank lines carry nothing
    first = next(lines, None)
    if first is None:
        raise DataError(f"{name}: the file is empty; the first line must name the columns")
    header_line, header = first
    header = [cell.strip() for cell in header]
    _check_header(name, header_line, header)
    values = {column: [] for column in header}
    for line, row in lines:
        if len(row) != len(header):
            raise DataError(f"{name}:{line}: {len(row)} values, but the header names "
                            f"{len(header)} columns ({', '.join(header)})")
        for column, cell in zip(header, row):
            values[column].append(_number(name, line, column, cell))
    if not values[header[0]]:
        raise DataError(f"{name}: no data rows after the header")
    return Table(name, {column: np.array(numbers) for column, numbers in values.items()})


def _check_header(name, line, header):
    for position, column in enumerate(header, start=1):
        if not column:
            raise DataError(f"{name}:{line}: column {position} has no name")
        if _is_number(column):
            raise DataError(f"{name}:{line}: the first line must name the columns, "
                            f"but column {position} is the number {column}")
        if not column.isidentifier():
            raise DataError(f"{name}:{line}: column name {column!r} cannot be used in a formula "
                            "(use letters, digits and _, starting with a letter)")
    duplicates = sorted({column for column in header if header.count(column) > 1})
    if duplicates:
        raise DataError(f"{name}:{line}: column {duplicates[0]!r} appears twice")


def _number(name, line, column, cell):
    text = cell.strip()
    if not text:
        raise DataError(f"{name}:{line}: column {column!r} has no value")
    try:
        value = float(text)
    except ValueError:
        raise DataError(f"{name}:{line}: column {column!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise DataError(f"{name}:{line}: column {column!r}: {text!r} is not a finite number")
    return value


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True
