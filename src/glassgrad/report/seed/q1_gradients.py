# HW3 Q1: compute df/dx and df/dy at x=3, y=4 with autograd.
# The seed's notebook code, verbatim except the imports: `import glassgrad as torch` in place of
# `import torch`, and glassgrad.viz's make_dot (torchviz's signature) in place of torchviz's.
import math
import glassgrad as torch
from glassgrad.viz import make_dot

x = torch.tensor([3.0])
y = torch.tensor([4.0])

x.requires_grad_(True)
y.requires_grad_(True)

f = (x+(torch.exp(y)))/((torch.log(x))+((x-y)**3))
print(f)

#Making computation graph

make_dot(f, params = {'x':x, 'y':y, 'f':f}, show_attrs = True, show_saved = False)

f.backward()

print(x.grad)
print(y.grad)
