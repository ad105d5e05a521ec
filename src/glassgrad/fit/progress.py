"""Feedback during a long fit: the seed's log lines and a progress bar on the terminal.

``SeedLog`` prints ``epoch: 1 --> loss 65538.2890625`` as the seed's training loop does.
``ProgressBar`` redraws one line on stderr at most ten times a second, only once a run has taken
long enough to need it, and only on a terminal (a notebook or a log file gets no carriage returns).
"""

import sys
import time


class SeedLog:
    """The seed's logger: ``epoch: <n> --> loss <value>`` for 1-based epoch ``n``."""

    def __init__(self, file=None):
        self.file = file

    def __call__(self, epoch, loss):
        print(f"epoch: {epoch} --> loss {loss}", file=self.file or sys.stdout)


class ProgressBar:
    """``[#####.....] 50% epoch 50000/100000 loss 1.17263 (3.1 s, about 3.1 s left)``.

    ``stream`` is where it draws (stderr by default); ``delay`` is how long a run must have taken
    before the bar appears, so short fits stay quiet.
    """

    WIDTH = 24

    def __init__(self, total, stream=None, delay=0.5, interval=0.1):
        self.total = total
        self.stream = stream or sys.stderr
        self.delay, self.interval = delay, interval
        self.start = time.perf_counter()
        self.next_draw = self.start + delay
        self.drawn = False

    def update(self, epoch, loss):
        now = time.perf_counter()
        if now < self.next_draw:
            return
        self.next_draw = now + self.interval
        elapsed = now - self.start
        done = epoch / self.total
        filled = int(self.WIDTH * done)
        left = elapsed * (1 - done) / done if done else 0.0
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:4.0%} "
                          f"epoch {epoch}/{self.total} loss {loss:.6g} "
                          f"({elapsed:.1f} s, about {left:.1f} s left) ")
        self.stream.flush()
        self.drawn = True

    def close(self):
        """Clear the bar's line, so what is printed next starts clean."""
        if self.drawn:
            self.stream.write("\r" + " " * 100 + "\r")
            self.stream.flush()


def wants_progress(progress):
    """Whether to draw a bar: ``True``/``False`` as given; ``None`` means on a terminal only."""
    if progress is None:
        isatty = getattr(sys.stderr, "isatty", None)
        return bool(isatty and isatty())
    return bool(progress)
