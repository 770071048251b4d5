"""A one-layer stand-in model for the optimizer tests, and a run of torch.optim to compare with."""
import numpy as np
import torch


class FakeLayer:
    """A layer whose gradients the test sets by hand."""

    def __init__(self, weight, bias):
        self.weight, self.bias = np.array(weight, dtype=float), np.array(bias, dtype=float)
        self.dw = self.db = None


class FakeModel:
    def __init__(self, modules):
        self.modules = modules


# A quadratic loss sum(a * p ** 2 / 2 + c * p) over each parameter p, with very different
# curvatures a, so that the optimizers' per-value scaling matters.
CURVATURE = {'weight': np.array([[4.0, 0.5, 1.0], [0.1, 2.0, 8.0]]), 'bias': np.array([3.0, 0.2])}
OFFSET = {'weight': np.array([[1.0, -2.0, 0.5], [0.3, -1.0, 2.0]]), 'bias': np.array([-0.5, 1.5])}
START = {'weight': np.array([[0.5, 1.0, -1.0], [2.0, 0.0, 0.3]]), 'bias': np.array([1.0, -1.0])}


def run_ours(make_optimizer, steps):
    """The layer's (weight, bias) after `steps` updates on the quadratic loss."""
    layer = FakeLayer(START['weight'], START['bias'])
    model = FakeModel([object(), layer])
    optimizer = make_optimizer(model)
    for _ in range(steps):
        layer.dw = CURVATURE['weight'] * layer.weight + OFFSET['weight']
        layer.db = CURVATURE['bias'] * layer.bias + OFFSET['bias']
        optimizer.update(model)
    return layer.weight, layer.bias


def run_torch(make_optimizer, steps, reg):
    """The same run with a torch.optim optimizer; L2 (weight_decay) on the weight only."""
    weight, bias = (torch.tensor(START[name], requires_grad=True) for name in ('weight', 'bias'))
    optimizer = make_optimizer([dict(params=[weight], weight_decay=reg),
                                dict(params=[bias], weight_decay=0.0)])
    for _ in range(steps):
        optimizer.zero_grad()
        loss = sum((torch.from_numpy(CURVATURE[name]) * p ** 2 / 2
                    + torch.from_numpy(OFFSET[name]) * p).sum()
                   for name, p in (('weight', weight), ('bias', bias)))
        loss.backward()
        optimizer.step()
    return weight.detach().numpy(), bias.detach().numpy()
