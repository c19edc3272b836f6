"""Several Python threads share one cagr.Model (each run on a session of its own): every result is
the one a lone thread gets for the same inputs; and the GIL is released while a pass runs."""

import threading
import time

import numpy as np

import cagr


def test_eight_threads_share_one_model(sample_model_path, sample_inputs):
    model = cagr.Model(str(sample_model_path), plugins="cpu")
    batches = [sample_inputs(16 + i, seed=100 + i) for i in range(8)]
    want = [model.run(b)["prob"] for b in batches]
    passes = 25
    failures = []

    def work(thread: int) -> None:
        try:
            for p in range(passes):
                b = (thread + p) % len(batches)
                got = model.run(batches[b])["prob"]
                if not np.array_equal(got, want[b]):
                    failures.append(f"thread {thread} pass {p}: batch {b} differs")
        except cagr.Error as e:
            failures.append(f"thread {thread}: {e}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures[:5]


def test_the_gil_is_released_while_a_pass_runs(sample_model_path, sample_inputs):
    # A pass of a quarter of a second or so: while one thread is inside it, this thread keeps
    # running Python; were the GIL held, it would stand still for the whole pass.
    model = cagr.Model(str(sample_model_path), plugins="cpu", optimizer=None)
    inputs = sample_inputs(50000, seed=7)
    model.run(inputs)
    start = time.perf_counter()
    model.run(inputs)
    one_pass = time.perf_counter() - start
    runner = threading.Thread(target=model.run, args=(inputs,))
    gaps, last = [], time.perf_counter()
    runner.start()
    while runner.is_alive():
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
    runner.join()
    assert len(gaps) > 1000, f"{len(gaps)} iterations beside a {one_pass:.3f} s pass"
    assert max(gaps) < one_pass / 2, f"this thread stood still {max(gaps):.3f} s of a {one_pass:.3f} s pass"
