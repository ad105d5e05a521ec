"""The seed's three Q2 models, as formulas with its hyperparameters, fitted the seed's way.

The seed starts each model from w ~ normal(0, 0.01) and b = 0 and runs plain gradient descent
for a fixed number of epochs; ``fit_seed_models`` does the same (after ``manual_seed(seed)``, so
a run can be repeated) and returns each result with its least-squares optimum.
"""

from .training import fit

SEED_MODELS = (
    {"name": "Model 1", "formula": "b + w1*x + w2*x**2", "lr": 0.0005, "epochs": 100000, "log_every": 10000},
    {"name": "Model 2", "formula": "b + w1*x", "lr": 0.01, "epochs": 1000, "log_every": 100},
    {"name": "Model 3", "formula": "w1*x", "lr": 0.01, "epochs": 10, "log_every": 1},
)


def seed_initial_values(formula, seed):
    """w1, w2, ... drawn as the seed's torch.normal(0, 0.01, size=(1, n)) after manual_seed(seed);
    b starts at zero."""
    import glassgrad as gg

    weights = sorted(name for name in ("w1", "w2") if name in formula)
    gg.manual_seed(seed)
    draws = gg.normal(0, 0.01, size=(1, len(weights)))[0].tolist()
    values = dict(zip(weights, draws))
    if "b" in formula:
        values["b"] = 0.0
    return values


def fit_seed_models(table, seed=0, logger=None, progress=False, before=None):
    """[(name, FitResult)] for the seed's three models on ``table`` (columns x and y).

    ``before(spec)`` is called as each model starts (to print a heading)."""
    results = []
    for spec in SEED_MODELS:
        if before is not None:
            before(spec)
        result = fit(spec["formula"], table, "y", lr=spec["lr"], epochs=spec["epochs"],
                     init=seed_initial_values(spec["formula"], seed), log_every=spec["log_every"],
                     logger=logger, progress=progress)
        results.append((spec["name"], result))
    return results
