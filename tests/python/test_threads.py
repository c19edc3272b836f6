"""Several Python threads share one cagr.Model (each run on a session of its own, the GIL released
while it runs): every result is the one a lone thread gets for the same inputs."""

import threading

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
