"""The optimizer base class: parameter groups, per-parameter state, ``zero_grad``, state dicts.

Subclasses supply ``defaults`` (the hyperparameters every group gets unless it sets its own) and
``step``. Updates write into the parameters' own arrays under ``no_grad``, so references and
views of a parameter see the new values, as with PyTorch.
"""

import copy
import warnings
from collections import defaultdict

from ..autograd import enable_grad, no_grad
from ..tensor import Tensor


class _RequiredParameter:
    """Marks a hyperparameter that has no default and must be given."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


class Optimizer:
    """Base class: holds ``param_groups`` and ``state``; subclasses implement ``step``.

    ``params`` is an iterable of tensors, or of dicts with a ``'params'`` entry and any
    hyperparameters that should differ from ``defaults`` for that group.
    """

    def __init__(self, params, defaults):
        self.defaults = defaults
        self.state = defaultdict(dict)
        self.param_groups = []
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            f"Tensors or dicts, but got {params.type()}")
        groups = _ordered_params(params)
        if not groups:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ----- parameter groups ------------------------------------------------------------------
    def add_param_group(self, param_group):
        """Add a group of parameters, with hyperparameters defaulting to ``self.defaults``."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group).__name__}")
        params = _ordered_params(param_group["params"])
        for param in params:
            _check_optimizable(param)
        group = dict(param_group, params=params)
        for name, default in self.defaults.items():
            if default is required and name not in group:
                raise ValueError("parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            group.setdefault(name, default)
        if len({id(p) for p in params}) != len(params):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error", stacklevel=3)
        seen = {id(p) for existing in self.param_groups for p in existing["params"]}
        if any(id(p) in seen for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(group)

    # ----- gradients and steps -------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: to ``None`` (the default, like PyTorch) or to zeros in place."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if set_to_none:
                    param.grad = None
                else:
                    _zero_in_place(param.grad)

    def step(self, closure=None):
        """Update every parameter that has a gradient; returns the closure's loss, if given."""
        loss = self._evaluate(closure)
        with no_grad():
            for group in self.param_groups:
                for param in self._params_with_grad(group):
                    self._update(param, group)
        return loss

    def _update(self, param, group):
        """One parameter's update, in place: what each optimizer defines."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure):
        """Run the closure (which recomputes the loss and calls backward) with grad enabled."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _params_with_grad(self, group):
        return [p for p in group["params"] if p.grad is not None]

    # ----- saving and restoring ------------------------------------------------------------------
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [...]}`` with parameters as indices.

        Indices count through all groups in order, as PyTorch numbers them, so a state dict can be
        loaded into a fresh optimizer built over the same parameters.
        """
        index_of = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            for param in group["params"]:
                index_of.setdefault(id(param), len(index_of))
            packed["params"] = [index_of[id(p)] for p in group["params"]]
            groups.append(packed)
        state = {index_of[id(p)]: values for p, values in self.state.items() if id(p) in index_of}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict`` (values are copied)."""
        state_dict = copy.deepcopy(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        for group, saved in zip(self.param_groups, saved_groups):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError("loaded state dict contains a parameter group that doesn't "
                                 "match the size of optimizer's group")
        param_of = {index: param for group, saved in zip(self.param_groups, saved_groups)
                    for index, param in zip(saved["params"], group["params"])}
        self.state = defaultdict(dict)
        for index, values in state_dict["state"].items():
            if index in param_of:
                param = param_of[index]
                self.state[param] = {k: _cast_state(k, v, param) for k, v in values.items()}
        self.param_groups = [dict(saved, params=group["params"])
                             for group, saved in zip(self.param_groups, saved_groups)]

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {key}: {group[key]}" for key in sorted(group) if key != "params"]
        return "\n".join(lines + [")"])


def _ordered_params(params):
    if isinstance(params, Tensor):
        return [params]
    if isinstance(params, (set, frozenset)):
        raise TypeError("optimizer parameters need to be organized in ordered collections, but "
                        "the ordering of tensors in sets will change between runs. Please use a "
                        "list instead.")
    return list(params)


def _check_optimizable(param):
    if not isinstance(param, Tensor):
        raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                        f"{type(param).__module__}.{type(param).__name__}")
    if not (param.is_leaf or param.retains_grad):
        raise ValueError("can't optimize a non-leaf Tensor")


def _zero_in_place(grad):
    # a grad built with create_graph=True is part of a graph: cut it loose before writing to it
    if grad.grad_fn is not None:
        grad.detach_()
    else:
        grad.requires_grad_(False)
    grad.zero_()


def _cast_state(key, value, param):
    """State tensors follow the parameter's dtype, except the step counter (as in PyTorch)."""
    if key == "step" or not isinstance(value, Tensor) or not value.is_floating_point():
        return value
    return value.to(param.dtype)


def assign(tensor, values):
    """Write ``values`` into ``tensor``'s own array and bump its version: an optimizer's in-place
    update, without copy_'s autograd checks (steps run under no_grad on leaves)."""
    tensor._write(values, "step")
    tensor._bump_version()
