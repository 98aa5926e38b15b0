"""MoE FFN vs dense FFN time at detection sizes (prints a markdown table).

Dense: mmcv ``FFN`` 256 -> 2048 -> 256. MoE: ``MoEFFN.from_dense(ffn,
num_copies=8, granularity=2)``: 16 experts of 1024 hidden units, top-2, so
the same active parameters per token. Times are medians of
``torch.utils.benchmark`` (CUDA synchronised), for inference (eval,
no_grad) and a training step (forward + backward), and every dispatch path
next to ``auto``.

    python tools/benchmark_moe.py          # CPU fp32 (+ CUDA bf16 if present)
    python tools/benchmark_moe.py --device cuda --paths auto grouped_mm
    python tools/benchmark_moe.py --sizes 1x1 1x64 --modes infer
    python tools/benchmark_moe.py --device cuda --modes infer graph

``--count-ops`` prints how many (non-view) ATen operators one inference
forward dispatches for each module and path: on a GPU at detection sizes
each is a kernel launch, and launches, not FLOPs, set the time.

Mode ``graph`` (CUDA only) replays inference captured in a CUDA graph, for
dense and MoE alike: what is left once kernel-launch overhead is gone.
Mode ``compile`` times inference of ``torch.compile(module)`` (inductor;
the first call, which compiles, is not timed).
"""
from __future__ import annotations

import argparse
import platform

import torch
from torch.utils import benchmark

SIZES = ((2, 900), (8, 900), (2, 20000))
ALL_PATHS = ('auto', 'loop', 'grouped_mm', 'dense')
# The dense path materialises (E, T, H) hidden activations: skip it beyond
# this many elements (~1 GiB in fp32) instead of running out of memory.
DENSE_PATH_MAX_ELEMENTS = 2**28


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--device', choices=('cpu', 'cuda', 'all'), default='all')
    p.add_argument('--paths', nargs='+', choices=ALL_PATHS, default=ALL_PATHS)
    p.add_argument(
        '--modes',
        nargs='+',
        choices=('infer', 'train', 'graph', 'compile'),
        default=('infer', 'train'))
    p.add_argument(
        '--sizes',
        nargs='+',
        default=None,
        metavar='BxN',
        help='token layouts to time (default: 2x900 8x900 '
        '2x20000)')
    p.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch CPU threads (default: torch default)')
    p.add_argument(
        '--min-run-time',
        type=float,
        default=1.0,
        help='seconds per measurement')
    p.add_argument(
        '--count-ops',
        action='store_true',
        help='also print the ATen operators of one forward')
    return p.parse_args()


def build(device: str, dtype: torch.dtype):
    from mmcv.cnn.bricks.transformer import FFN

    from mmdet_dynmoe.models import MoEFFN
    torch.manual_seed(0)
    dense = FFN(embed_dims=256, feedforward_channels=2048)
    # the routing losses Dynamic-DINO trains with (the engine's are off by
    # default): training rows include their cost
    moe = MoEFFN.from_dense(
        dense,
        num_copies=8,
        granularity=2,
        balance_loss_weight=0.01,
        z_loss_weight=0.001)
    moe.moe.record_aux = True  # time the routing losses of training too
    return dense.to(device, dtype), moe.to(device, dtype)


def time_ms(module, x: torch.Tensor, mode: str, min_run_time: float) -> float:
    if mode in ('infer', 'graph', 'compile'):
        module.eval()
        if mode == 'compile':
            torch._dynamo.reset()  # fresh: paths share one module
            module = torch.compile(module)

        def fn():
            with torch.no_grad():
                module(x)
    else:
        module.train()
        x = x.clone().requires_grad_()

        def fn():
            out = module(x)
            aux = getattr(
                getattr(module, 'moe', None), 'pop_aux_losses', dict)()
            (out.float().square().mean() + sum(aux.values())).backward()

    if mode == 'graph':
        fn = cuda_graph(module, x)  # noqa: F811  (replaces the eager fn)
    fn()  # warm up (and allocate)
    timer = benchmark.Timer(stmt='fn()', globals=dict(fn=fn))
    return timer.blocked_autorange(min_run_time=min_run_time).median * 1e3


def cuda_graph(module, x: torch.Tensor):
    """Inference of ``module`` on ``x`` captured in a CUDA graph; returns
    the replay function. Fails if the forward synchronises with the host."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side), torch.no_grad():
        for _ in range(3):  # warm up outside the graph, as capture requires
            module(x)
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        module(x)
    return graph.replay


def count_ops(module, x: torch.Tensor) -> list[str]:
    """The non-view ATen operators one inference forward dispatches."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Recorder(TorchDispatchMode):

        def __init__(self) -> None:
            super().__init__()
            self.ops: list[str] = []

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if not func.is_view:
                self.ops.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    module.eval()
    with torch.no_grad(), Recorder() as recorder:
        module(x)
    return recorder.ops


def fmt_ms(ms: float) -> str:
    """Milliseconds with 3 significant digits below 1 ms (GPU rows)."""
    return f'{ms:.2f}' if ms >= 1 else f'{ms:.3g}'


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    runs = []
    if args.device in ('cpu', 'all'):
        runs.append(('cpu', torch.float32))
    if args.device in ('cuda', 'all') and torch.cuda.is_available():
        runs.append(('cuda', torch.bfloat16))
    elif args.device == 'cuda':
        raise SystemExit('--device cuda: no CUDA device')

    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else '-'
    print(f'torch {torch.__version__}, CPU {platform.processor() or "?"} '
          f'x{torch.get_num_threads()} threads, GPU {gpu}')
    print('dense = FFN 256->2048->256; moe = from_dense(N=8, k=2): 16 experts '
          'x 1024, top-2 (equal active parameters)\n')
    if args.count_ops:
        dense, moe = build('cpu', torch.float32)
        x = torch.randn(2, 900, 256)
        print('ATen operators per inference forward (2x900 tokens):')
        for name, module, path in [('dense FFN', dense, None)] + [
            (f'moe {p}', moe, p) for p in ALL_PATHS if p != 'auto'
        ]:
            if path is not None:
                moe.moe.dispatch = path
            ops = count_ops(module, x)
            print(f'- {name}: {len(ops)}: {" ".join(ops)}')
        print()
    head = ['device', 'dtype', 'mode', 'tokens', 'dense ms'
            ] + [f'moe {p} ms' for p in args.paths] + ['moe/dense (auto)']
    print('| ' + ' | '.join(head) + ' |')
    print('|' + '|'.join('---' for _ in head) + '|')
    from mmdet_dynmoe.moe import select_dispatch
    for device, dtype in runs:
        dense, moe = build(device, dtype)
        sizes = SIZES if args.sizes is None else [
            tuple(map(int, size.split('x'))) for size in args.sizes
        ]
        for batch, queries in sizes:
            x = torch.randn(batch, queries, 256, device=device, dtype=dtype)
            num_tokens = batch * queries
            for mode in args.modes:
                if mode == 'graph' and device != 'cuda':
                    continue
                t_dense = time_ms(dense, x, mode, args.min_run_time)
                row = [
                    device,
                    str(dtype).replace('torch.', ''), mode,
                    f'{batch}x{queries}',
                    fmt_ms(t_dense)
                ]
                t_auto = None
                for path in args.paths:
                    if path == 'dense' and (num_tokens * 16 * 1024
                                            > DENSE_PATH_MAX_ELEMENTS):
                        row.append('skipped')
                        continue
                    syncs = path == 'loop' or (
                        path == 'auto' and select_dispatch(
                            num_tokens, 16, x.device, dtype) == 'loop')
                    if mode == 'graph' and syncs:
                        row.append('n/a (host sync)')  # cannot be captured
                        continue
                    moe.moe.dispatch = path
                    try:
                        t = time_ms(moe, x, mode, args.min_run_time)
                    except Exception as e:  # a path this build cannot run
                        row.append(f'n/a ({type(e).__name__})')
                        continue
                    row.append(fmt_ms(t))
                    if path == 'auto':
                        t_auto = t
                auto = select_dispatch(num_tokens, 16, x.device, dtype)
                row.append(f'{t_auto / t_dense:.2f}x ({auto})'
                           if t_auto is not None else '-')
                print('| ' + ' | '.join(row) + ' |', flush=True)


if __name__ == '__main__':
    main()
