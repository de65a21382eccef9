"""Stress run of the C++ CPU kernels (make sanitize): their tests many times in ONE process, plus the
network's real layers, with a chosen MindSpore thread count; each round's results must equal the first's.

Why: heap corruption shows up late and elsewhere (the crash seen once after ~74 tests); one long-lived
process with many primitives, plans and threads is where it accumulates. Not collected by pytest.

    .venv/bin/python -m tests.stress_kernels --rounds 5 --threads 4
"""
import argparse
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5, help="repetitions of the kernel tests in this process")
    p.add_argument("--threads", type=int, default=1, help="MindSpore's CPU threads (the kernels use as many)")
    args = p.parse_args(argv)

    import mindspore as ms
    import numpy as np
    import pytest

    ms.set_context(runtime_num_threads=args.threads)  # before the first op
    from src.backend.cpu_kernels import cpu_threads
    from tests.test_conv3d import REAL_LAYERS, real_layer_results

    assert cpu_threads() == args.threads, cpu_threads()
    first = {}
    start = time.perf_counter()
    for round_ in range(1, args.rounds + 1):
        code = pytest.main(["-q", "-p", "no:cacheprovider", "-k", "not real_layers",
                            "tests/test_conv3d.py", "tests/test_max_pool.py"])
        if code != 0:
            print(f"STRESS round {round_}: the kernel tests failed (pytest exit {code})", flush=True)
            return 1
        for mode in (ms.GRAPH_MODE, ms.PYNATIVE_MODE):
            ms.set_context(mode=mode)
            for i in range(len(REAL_LAYERS)):
                got = real_layer_results(i, ours=True)
                want = first.setdefault((mode, i), got)
                if not all(np.array_equal(g, w) for g, w in zip(got, want)):
                    print(f"STRESS round {round_}: {REAL_LAYERS[i][0]} differs from round 1", flush=True)
                    return 1
        ms.set_context(mode=ms.PYNATIVE_MODE)
        print(f"STRESS round {round_}/{args.rounds} ok ({args.threads} threads, "
              f"{time.perf_counter() - start:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
