"""The HW3 report: the seed homework's questions answered with glassgrad, written as files."""
