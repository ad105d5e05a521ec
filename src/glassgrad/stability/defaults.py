"""The analyzer's defaults, in a module of their own so the command line can show them without
importing the analyzer."""

DEFAULT_SAMPLES = 2000  # random inputs besides the edge points: a few seconds for two variables
DEFAULT_RANGE = (-100.0, 100.0)
