"""Whether operations are recorded for differentiation: no_grad, enable_grad, set_grad_enabled.

Each works as a context manager and as a decorator, like PyTorch's. The flag is one module-level
attribute because every op reads it on the hot path.
"""

import functools

enabled = True


def is_grad_enabled():
    return enabled


class _GradMode:
    """Sets grad mode to ``self.mode`` inside a with-block or a decorated function."""

    mode = True

    def __new__(cls, *args):
        # Bare ``@no_grad`` (no parentheses) decorates directly, as in PyTorch 2.
        self = object.__new__(cls)  # not super(): a training loop enters no_grad every step
        if args and len(args) == 1 and callable(args[0]) and cls in (no_grad, enable_grad):
            return self(args[0])
        return self

    def __enter__(self):
        global enabled
        self._previous = enabled
        enabled = self.mode

    def __exit__(self, exc_type, exc, traceback):
        global enabled
        enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)
        return wrapper


class no_grad(_GradMode):
    """Operations inside are not recorded: no graph, results don't require grad."""

    mode = False


class enable_grad(_GradMode):
    """Recording is on inside, even within ``no_grad``."""

    mode = True


class set_grad_enabled(_GradMode):
    """Turn recording on or off; takes effect at once, and restores on exiting a with-block."""

    def __init__(self, mode):
        global enabled
        self.mode = bool(mode)
        self._previous = enabled
        enabled = self.mode

    def __enter__(self):
        pass

    def __call__(self, fn):
        global enabled
        enabled = self._previous
        mode = self.mode

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return fn(*args, **kwargs)
        return wrapper


class inference_mode(no_grad):
    """Like no_grad (glassgrad has no separate inference tensors)."""

    def __init__(self, mode=True):
        self.mode = not mode
