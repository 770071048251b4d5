"""Speed of scratch/'s layers: convolution and max pooling as plain loops, vectorised NumPy and
torch CPU; the normalisation layers against torch CPU.

Times forward + backward of each, in one run, on the same float64 data and the same number of
threads (BLAS for NumPy, intra-op for torch), on three shapes:

    (a) x (100, 3, 31, 31), w (25, 3, 3, 3), stride 2, pad 1   (the course's test shape)
    (b) x (10, 3, 32, 32),  w (32, 3, 5, 5), stride 1, pad 2   (the train.py layer, batch 10)
    (c) x (64, 16, 16, 16), w (32, 16, 3, 3), stride 1, pad 1

Pooling (kernel 2, stride 2) runs on each convolution's output. Vectorised and torch times are
the best of --repeats interleaved runs (the least disturbed by other work on the machine); the
loops run once. The goal: vectorised within 2x of torch on every shape.

The normalisation layers (training mode, forward + backward, best of --repeats) run on

    BatchNorm x (256, 1024); SpatialBatchNorm x (64, 32, 16, 16); GroupNorm x (64, 32, 16, 16),
    8 groups; LayerNorm x (256, 1024)

and BatchNorm's backward also runs node by node (``batchnorm_backward_steps``) beside the
single-expression form the layer uses.

    python -m bench.scratch_layers
    python -m bench.scratch_layers --threads 1 --no-loops
"""
import argparse
import os
import time

from tools import argtypes


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=argtypes.positive, default=os.cpu_count(),
                        help='threads for NumPy BLAS and for torch (default: %(default)s)')
    parser.add_argument('--repeats', type=argtypes.positive, default=30)
    parser.add_argument('--no-loops', action='store_true', help='skip the slow loop versions')
    return parser.parse_args()


ARGS = parse_args()
for variable in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'MKL_NUM_THREADS'):
    os.environ[variable] = str(ARGS.threads)

import numpy as np  # noqa: E402  (after the thread variables, which BLAS reads on import)
import torch  # noqa: E402


from scratch.modules import (BatchNorm, GroupNorm, LayerNorm, SpatialBatchNorm,  # noqa: E402
                             loops, vectorized)
from scratch.modules.normalization import batchnorm_backward_steps, standardize  # noqa: E402
from scratch.modules.workspace import Workspace  # noqa: E402

CASES = [
    ('a', (100, 3, 31, 31), (25, 3, 3, 3), 2, 1),
    ('b', (10, 3, 32, 32), (32, 3, 5, 5), 1, 2),
    ('c', (64, 16, 16, 16), (32, 16, 3, 3), 1, 1),
]
POOL_KERNEL = POOL_STRIDE = 2
NORM_CASES = [
    ('BatchNorm', (256, 1024), lambda x, w, b: torch.nn.functional.batch_norm(
        x, None, None, w, b, training=True, eps=1e-5), lambda: BatchNorm(1024)),
    ('SpatialBatchNorm', (64, 32, 16, 16), lambda x, w, b: torch.nn.functional.batch_norm(
        x, None, None, w, b, training=True, eps=1e-5), lambda: SpatialBatchNorm(32)),
    ('GroupNorm 8 groups', (64, 32, 16, 16), lambda x, w, b: torch.nn.functional.group_norm(
        x, 8, w, b, 1e-5), lambda: GroupNorm(8, 32)),
    ('LayerNorm', (256, 1024), lambda x, w, b: torch.nn.functional.layer_norm(
        x, (1024,), w, b, 1e-5), lambda: LayerNorm(1024)),
]


def conv_runners(x, w, b, dout, stride, padding):
    """Forward + backward closures for the loop, vectorised and torch convolutions."""
    workspace = Workspace()
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_() for a in (x, w, b))
    doutt = torch.from_numpy(dout)

    def loop():
        loops.conv2d_forward_loops(x, w, b, stride, padding)
        return loops.conv2d_backward_loops(dout, x, w, stride, padding)

    def fast():
        _, cache = vectorized.conv2d_forward(x, w, b, stride, padding, workspace)
        return vectorized.conv2d_backward(dout, cache)

    def reference():
        xt.grad = wt.grad = bt.grad = None
        torch.nn.functional.conv2d(xt, wt, bt, stride, padding).backward(doutt)
        return xt.grad, wt.grad, bt.grad

    return loop, fast, reference


def pool_runners(x, dout):
    """Forward + backward closures for the loop, vectorised and torch max pooling."""
    xt = torch.from_numpy(x.copy()).requires_grad_()
    doutt = torch.from_numpy(dout)

    def loop():
        loops.max_pool_forward_loops(x, POOL_KERNEL, POOL_STRIDE)
        return (loops.max_pool_backward_loops(dout, x, POOL_KERNEL, POOL_STRIDE),)

    def fast():
        _, cache = vectorized.max_pool_forward(x, POOL_KERNEL, POOL_STRIDE)
        return (vectorized.max_pool_backward(dout, cache),)

    def reference():
        xt.grad = None
        torch.nn.functional.max_pool2d(xt, POOL_KERNEL, POOL_STRIDE).backward(doutt)
        return (xt.grad,)

    return loop, fast, reference


def norm_runners(layer, reference, x, dout):
    """Forward + backward closures for a scratch normalisation layer and its torch version."""
    xt, wt, bt = (torch.from_numpy(a.copy()).requires_grad_()
                  for a in (x, layer.weight, layer.bias))
    doutt = torch.from_numpy(dout)

    def fast():
        layer.forward(x)
        layer.backward(dout)
        return layer.dx, layer.dw, layer.db

    def torch_run():
        xt.grad = wt.grad = bt.grad = None
        reference(xt, wt, bt).backward(doutt)
        return xt.grad, wt.grad, bt.grad

    return fast, torch_run


def batchnorm_steps_runner(layer, x, dout):
    """Forward + the node-by-node backward of BatchNorm, for comparison with ``fast``."""
    def steps():
        x_hat, _, _, _ = standardize(x, 0, layer.eps)
        layer.weight * x_hat + layer.bias
        return batchnorm_backward_steps(dout, x, layer.weight, layer.eps)
    return steps


def best_times(runners, repeats):
    """Best wall time in seconds of each runner, interleaving them so they share conditions."""
    for run in runners:
        run()
    best = [float('inf')] * len(runners)
    for _ in range(repeats):
        for index, run in enumerate(runners):
            start = time.perf_counter()
            run()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def once(run):
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def max_difference(ours, theirs):
    return max(float(np.abs(a - t.numpy()).max()) for a, t in zip(ours, theirs))


def main():
    torch.set_num_threads(ARGS.threads)
    print(f"float64, {ARGS.threads} thread(s) for NumPy BLAS and torch "
          f"(torch {torch.__version__}, NumPy {np.__version__}); forward + backward in ms, "
          f"best of {ARGS.repeats} (loops: one run)")
    print(f"{'layer':<46}{'loop':>10}{'vectorised':>12}{'torch':>9}{'vec/torch':>11}"
          f"{'loop/vec':>10}{'max |diff|':>12}")
    rng = np.random.RandomState(0)
    for name, x_shape, w_shape, stride, padding in CASES:
        x, w, b = rng.randn(*x_shape), rng.randn(*w_shape), rng.randn(w_shape[0])
        conv_out, _ = vectorized.conv2d_forward(x, w, b, stride, padding)
        pool_in = np.maximum(conv_out, 0)
        pool_out, _ = vectorized.max_pool_forward(pool_in, POOL_KERNEL, POOL_STRIDE)
        rows = [
            (f"({name}) conv x{x_shape} w{w_shape[:2]}k{w_shape[2]} s{stride} p{padding}",
             conv_runners(x, w, b, rng.randn(*conv_out.shape), stride, padding)),
            (f"({name}) pool x{pool_in.shape} k{POOL_KERNEL} s{POOL_STRIDE}",
             pool_runners(pool_in, rng.randn(*pool_out.shape))),
        ]
        for label, (loop, fast, reference) in rows:
            fast_time, torch_time = best_times((fast, reference), ARGS.repeats)
            difference = max_difference(fast(), reference())
            if ARGS.no_loops:
                loop_columns = f"{'-':>10}"
                ratio_columns = f"{'-':>10}"
            else:
                loop_time = once(loop)
                loop_columns = f"{loop_time * 1e3:>10.0f}"
                ratio_columns = f"{loop_time / fast_time:>9.0f}x"
            print(f"{label:<46}{loop_columns}{fast_time * 1e3:>12.2f}{torch_time * 1e3:>9.2f}"
                  f"{fast_time / torch_time:>10.2f}x{ratio_columns}{difference:>12.1e}")

    print(f"\n{'normalisation, training mode':<46}{'scratch':>10}{'step-by-step':>14}"
          f"{'torch':>9}{'scratch/torch':>15}{'max |diff|':>12}")
    for name, shape, reference, make in NORM_CASES:
        layer = make()
        layer.weight, layer.bias = rng.randn(*layer.weight.shape), rng.randn(*layer.bias.shape)
        x, dout = rng.randn(*shape), rng.randn(*shape)
        fast, torch_run = norm_runners(layer, reference, x, dout)
        runners = [fast, torch_run]
        if name == 'BatchNorm':
            runners.append(batchnorm_steps_runner(layer, x, dout))
        times = best_times(runners, ARGS.repeats)
        steps_column = f"{times[2] * 1e3:>14.2f}" if len(times) == 3 else f"{'-':>14}"
        print(f"{name + ' x' + str(shape):<46}{times[0] * 1e3:>10.2f}{steps_column}"
              f"{times[1] * 1e3:>9.2f}{times[0] / times[1]:>14.2f}x"
              f"{max_difference(fast(), torch_run()):>12.1e}")


if __name__ == '__main__':
    main()
