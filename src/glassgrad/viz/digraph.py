"""A Graphviz digraph held as DOT text, rendered by Graphviz only when asked.

:class:`DotGraph` collects nodes and edges and writes DOT source itself, so building and testing
a graph needs neither the ``graphviz`` Python package nor the ``dot`` binary. ``render``, ``pipe``
and the Jupyter display import the package lazily and raise :class:`GraphvizNotFound`, with the
commands that install it, when either piece is missing.
"""

import re

INSTALL_HINT = ("install Graphviz with `pip install graphviz` (the Python package) and "
                "`apt-get install graphviz` (the dot binary; `brew install graphviz` on macOS)")


class GraphvizNotFound(RuntimeError):
    """Rendering needs the ``graphviz`` Python package and Graphviz's ``dot`` binary."""


class Record:
    """A node label made of fields drawn side by side (Graphviz's ``shape=record``)."""

    __slots__ = ("fields",)

    def __init__(self, fields):
        self.fields = tuple(fields)


class DotGraph:
    """A directed graph as DOT text: ``graph.source``, ``graph.render(...)``, ``graph.pipe(...)``.

    >>> g = DotGraph(node_attr={"shape": "box"})
    >>> g.node("a", "x\\n (1)", fillcolor="lightblue"); g.node("b", "ExpBackward0"); g.edge("a", "b")
    >>> print(g.source, end="")
    digraph {
        graph [size="12,12"]
        node [shape=box]
        a [label="x\\n (1)" fillcolor=lightblue]
        b [label=ExpBackward0]
        a -> b
    }
    """

    def __init__(self, graph_attr=None, node_attr=None, edge_attr=None):
        self.graph_attr = dict(graph_attr or {})
        self.node_attr = dict(node_attr or {})
        self.edge_attr = dict(edge_attr or {})
        self.body = []  # DOT statements in the order they were added

    def node(self, name, label, **attrs):
        """Add node ``name`` showing ``label`` (text, or a :class:`Record` of fields)."""
        if isinstance(label, Record):
            attrs = {"shape": "record", **attrs}
        self.body.append(f"{name} {_attributes({'label': label, **attrs})}")

    def edge(self, tail, head, **attrs):
        """Add an edge drawn from ``tail`` to ``head``."""
        suffix = f" {_attributes(attrs)}" if attrs else ""
        self.body.append(f"{tail} -> {head}{suffix}")

    @property
    def source(self):
        """The graph as DOT text."""
        lines = ["digraph {"]
        # Like torchviz: a bigger canvas for bigger graphs, so labels stay readable.
        size = max(12.0, len(self.body) * 0.15)
        graph_attr = {"size": f"{size:g},{size:g}", **self.graph_attr}
        for keyword, attrs in (("graph", graph_attr), ("node", self.node_attr),
                               ("edge", self.edge_attr)):
            if attrs:
                lines.append(f"    {keyword} {_attributes(attrs)}")
        lines.extend(f"    {statement}" for statement in self.body)
        lines.append("}")
        return "\n".join(lines) + "\n"

    def save(self, filename):
        """Write the DOT source to ``filename`` (no Graphviz needed) and return the path."""
        with open(filename, "w", encoding="utf-8") as file:
            file.write(self.source)
        return filename

    def pipe(self, format="svg"):
        """The rendered graph as bytes (``format`` is any Graphviz output format)."""
        graphviz = _import_graphviz()
        with _dot_errors(graphviz):
            return graphviz.Source(self.source).pipe(format=format)

    def render(self, filename="graph", directory=None, format="svg", view=False, cleanup=False):
        """Write the DOT source to ``filename`` and the drawing to ``filename.<format>``; return
        the drawing's path (the ``graphviz`` package's convention, which torchviz users know)."""
        graphviz = _import_graphviz()
        with _dot_errors(graphviz):
            return graphviz.Source(self.source).render(
                filename=filename, directory=directory, format=format, view=view, cleanup=cleanup)

    def _repr_svg_(self):
        try:
            return self.pipe("svg").decode("utf-8")
        except GraphvizNotFound:
            return None  # Jupyter then shows the text/plain form

    def _repr_mimebundle_(self, include=None, exclude=None):
        svg = self._repr_svg_()
        return {"image/svg+xml": svg} if svg is not None else {"text/plain": self.source}

    def __repr__(self):
        return f"<DotGraph: {len(self.body)} statements; .source for DOT text>"


def _import_graphviz():
    try:
        import graphviz  # lazy: an optional extra, and `import glassgrad` must stay fast
    except ImportError:
        raise GraphvizNotFound(
            f"rendering needs the graphviz Python package, which is not installed: {INSTALL_HINT}"
        ) from None
    return graphviz


class _dot_errors:
    """Turn the graphviz package's missing-binary error into our one-line GraphvizNotFound."""

    def __init__(self, graphviz):
        self.missing = graphviz.ExecutableNotFound

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        if kind is not None and issubclass(kind, self.missing):
            raise GraphvizNotFound(
                f"rendering needs Graphviz's dot binary, which is not on PATH: {INSTALL_HINT}"
            ) from None
        return False


_PLAIN_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?)")


def _attributes(attrs):
    return "[" + " ".join(f"{key}={_value(value)}" for key, value in attrs.items()) + "]"


def _value(value):
    if isinstance(value, Record):
        return '"' + "|".join(_record_field(field) for field in value.fields) + '"'
    text = str(value)
    if _PLAIN_ID.fullmatch(text):
        return text
    return '"' + _escape(text) + '"'


def _escape(text):
    # Graphviz reads \n as a line break and \\ as a backslash; quotes end the string.
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _record_field(text):
    # Inside a record label, braces, bars, angle brackets and spaces are syntax unless escaped.
    return re.sub(r"([{}|<> ])", r"\\\1", _escape(text))
