"""Benchmarks for glassgrad against its peers (PyTorch, HIPS autograd, micrograd, JAX, plain NumPy).

Run from the repo root: ``python -m benchmarks [--quick] [--json] [--only W1] [--repeat N]``.
Each workload is one module exposing ``WORKLOAD`` (a :class:`benchmarks.harness.Workload`);
``benchmarks.workloads.ALL`` lists them in the order they run.
"""
