"""Layers as objects, with PyTorch's names: ``Module``, ``Linear``, ``Sequential``, the activations
and the losses.

A Module keeps its Parameters and sub-Modules in the order they are assigned, so
``parameters()``, ``state_dict()`` and ``repr`` list them as PyTorch does; ``Linear`` draws its
initial weights as PyTorch does, so after the same ``manual_seed`` a network starts from the same
numbers. Everything a Module computes goes through the ordinary ops, so the explainer, the graph
drawer and the compiler see it like any other code.
"""

import math
from collections import OrderedDict

from ..autograd import grad_mode
from ..factories import empty
from . import functional as F
from .parameter import Parameter


class Module:
    """The base of every layer: ``forward`` says what it computes; calling the module runs it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() call")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):  # only reached when ordinary lookup fails
        for table in ("_parameters", "_modules"):
            entries = self.__dict__.get(table, {})
            if name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters:
            del self._parameters[name]
        elif name in self._modules:
            del self._modules[name]
        else:
            object.__delattr__(self, name)

    def register_parameter(self, name, parameter):
        if parameter is None:
            self._parameters.pop(name, None)
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, parameter)

    def forward(self, *inputs):
        raise NotImplementedError(f"Module [{type(self).__name__}] is missing the required "
                                  "\"forward\" function")

    def __call__(self, *inputs, **kwargs):
        return self.forward(*inputs, **kwargs)

    # ----- walking the tree ---------------------------------------------------------------------
    def named_modules(self, prefix=""):
        yield prefix, self
        for name, module in self._modules.items():
            yield from module.named_modules(f"{prefix}.{name}" if prefix else name)

    def modules(self):
        return (module for _, module in self.named_modules())

    def children(self):
        return iter(self._modules.values())

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_prefix, module in modules:
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:  # a parameter shared by two layers is listed once
                    seen.add(id(parameter))
                    yield (f"{module_prefix}.{name}" if module_prefix else name), parameter

    def parameters(self, recurse=True):
        return (parameter for _, parameter in self.named_parameters(recurse=recurse))

    # ----- training -----------------------------------------------------------------------------
    def zero_grad(self, set_to_none=True):
        for parameter in self.parameters():
            if parameter.grad is None:
                continue
            if set_to_none:
                parameter.grad = None
            else:
                parameter.grad.zero_()

    def train(self, mode=True):
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    # ----- saving and loading -------------------------------------------------------------------
    def state_dict(self):
        """Every parameter by its dotted name, detached (sharing data with the parameter)."""
        return OrderedDict((name, parameter.detach()) for name, parameter in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        own = dict(self.named_parameters())
        missing = [name for name in own if name not in state_dict]
        unexpected = [name for name in state_dict if name not in own]
        if strict and (missing or unexpected):
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}: "
                               f"missing keys {missing}, unexpected keys {unexpected}")
        loaded = {name: value for name, value in state_dict.items() if name in own}
        for name, value in loaded.items():  # every shape checked before any value is copied
            if tuple(own[name].shape) != tuple(value.shape):
                raise RuntimeError(f"size mismatch for {name}: copying a param with shape "
                                   f"{list(value.shape)}, the shape in current model is "
                                   f"{list(own[name].shape)}")
        with grad_mode.no_grad():
            for name, value in loaded.items():
                own[name].copy_(value)
        return missing, unexpected

    # ----- printing -----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        lines = []
        for name, module in self._modules.items():
            child = repr(module).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not lines:
            return head + ")"
        return head + "\n" + "\n".join(lines) + "\n)"


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features) drawn as PyTorch draws it:
    uniform on +-1/sqrt(in_features) (Kaiming uniform with a = sqrt(5)), and b the same."""

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(empty(out_features, in_features, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        fan_in = self.in_features
        # PyTorch's kaiming_uniform_(a=sqrt(5)), in its own float steps, so the bound is the same
        gain = math.sqrt(2.0 / (1 + math.sqrt(5) ** 2))
        bound = math.sqrt(3.0) * (gain / math.sqrt(fan_in)) if fan_in else 0.0
        with grad_mode.no_grad():
            self.weight.uniform_(-bound, bound)
            if self.bias is not None:
                bias_bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                self.bias.uniform_(-bias_bound, bias_bound)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Sequential(Module):
    """The given modules applied in order; ``model[k]`` is the k-th."""

    def __init__(self, *modules):
        super().__init__()
        for index, module in enumerate(modules):
            setattr(self, str(index), module)

    def forward(self, input):
        for module in self._modules.values():
            input = module(input)
        return input

    def __getitem__(self, index):
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])
        return modules[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


def _layer(name, function, doc=None, shown=True, **settings):
    """A Module class for a function of its inputs, with ``settings`` (keyword arguments and
    their defaults) as attributes, shown in its repr when ``shown``: ``LeakyReLU(negative_slope=0.2)``
    but ``MSELoss()``, as PyTorch prints them."""

    def __init__(self, *args, **kwargs):
        Module.__init__(self)
        if len(args) > len(settings) or set(kwargs) - set(settings):
            raise TypeError(f"{name}() takes the settings {list(settings)}; got {len(args)} "
                            f"positional and {sorted(kwargs)}")
        values = dict(settings, **dict(zip(settings, args)), **kwargs)
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def forward(self, *inputs):
        return function(*inputs, **{key: getattr(self, key) for key in settings})

    def extra_repr(self):
        if not shown:
            return ""
        # inplace is shown only when on: "ReLU()", "ReLU(inplace=True)"
        return ", ".join(f"{key}={getattr(self, key)!r}" for key in settings
                         if key != "inplace" or getattr(self, key))

    return type(name, (Module,), {"__init__": __init__, "forward": forward, "extra_repr": extra_repr,
                                  "__doc__": doc or f"``{function.__name__}`` as a layer."})


Identity = _layer("Identity", lambda input: input, doc="Returns its input.")
ReLU = _layer("ReLU", F.relu, inplace=False)
Sigmoid = _layer("Sigmoid", F.sigmoid)
Tanh = _layer("Tanh", F.tanh)
SiLU = _layer("SiLU", F.silu, inplace=False)
LeakyReLU = _layer("LeakyReLU", F.leaky_relu, negative_slope=0.01, inplace=False)
ELU = _layer("ELU", F.elu, alpha=1.0, inplace=False)
GELU = _layer("GELU", F.gelu, approximate="none")
Softplus = _layer("Softplus", F.softplus, beta=1.0, threshold=20.0)
Softmax = _layer("Softmax", F.softmax, dim=None)
LogSoftmax = _layer("LogSoftmax", F.log_softmax, dim=None)
MSELoss = _layer("MSELoss", F.mse_loss, shown=False, reduction="mean")
L1Loss = _layer("L1Loss", F.l1_loss, shown=False, reduction="mean")
CrossEntropyLoss = _layer("CrossEntropyLoss", F.cross_entropy, shown=False, reduction="mean")
NLLLoss = _layer("NLLLoss", F.nll_loss, shown=False, reduction="mean")
BCELoss = _layer("BCELoss", F.binary_cross_entropy, shown=False, reduction="mean")
BCEWithLogitsLoss = _layer("BCEWithLogitsLoss", F.binary_cross_entropy_with_logits, shown=False,
                           reduction="mean")
