# HW3 Q3: -log(e^x / (e^x + e^y)) and its gradients, the overflow at (50, 100), a stable rewrite.
# The seed's notebook code, verbatim except `import glassgrad as torch` in place of `import torch`.
# Bare expressions (`z`, `torch.exp(...)`) print their value when run cell by cell, as in Jupyter.
import glassgrad as torch

def log_exp(x, y):
    return -torch.log(torch.exp(x)/(torch.exp(x) + torch.exp(y)))

x, y = torch.tensor([2.0]), torch.tensor([3.0])
z = log_exp(x, y)
z

# function should print the gradients dx and dy
def grad(forward_func, x, y):
    x.requires_grad_()
    y.requires_grad_()
    z = forward_func(x,y)
    z.backward()
    print("x.grad = ", x.grad)
    print("y.grad = ", y.grad)
    x.grad.data.zero_()
    y.grad.data.zero_()

grad(log_exp, x, y)

x, y = torch.tensor([50.0]), torch.tensor([100.0])

grad(log_exp, x, y)

torch.exp(torch.tensor([100.0]))

def stable_log_exp(x, y):
    return torch.log(1+ torch.exp(y-x))

grad(stable_log_exp, x, y)
