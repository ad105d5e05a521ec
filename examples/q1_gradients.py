# HW3 Q1: compute df/dx and df/dy at x=3, y=4 with autograd.
# The seed's notebook code, verbatim except `import glassgrad as torch` in place of `import torch`.
# (The computation-graph cell, `make_dot`, comes with glassgrad.viz.)
import math
import glassgrad as torch

x = torch.tensor([3.0])
y = torch.tensor([4.0])

x.requires_grad_(True)
y.requires_grad_(True)

f = (x+(torch.exp(y)))/((torch.log(x))+((x-y)**3))
print(f)

f.backward()

print(x.grad)
print(y.grad)
