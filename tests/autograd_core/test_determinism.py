"""Same inputs, same graph order and messages, whatever the hashing; threads do not mix."""

import os
import subprocess
import sys
import threading
from pathlib import Path

from autograd_core import Value, backward_steps, topological_order
from autograd_core.functional import softmax, vsum

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from autograd_core import Value, backward_steps, topological_order
from autograd_core.functional import log_softmax, vsum
xs = [Value(0.1 * i - 0.4, label=f"x{i}") for i in range(9)]
hidden = [(xs[i] * xs[(i * 4) % 9] + xs[(i + 2) % 9]).tanh() for i in range(9)]
loss = -log_softmax(hidden)[3] + vsum([h * h for h in hidden]) * 0.01
for node in topological_order(loss):
    print(node.op, node.label, repr(node.data))
for m in backward_steps(loss):
    print(m.sender.op, m.receiver.label, m.parent_index, repr(m.receiver_delta))
"""


def run_with_hash_seed(seed):
    env = dict(os.environ, PYTHONHASHSEED=str(seed))
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                            check=True, cwd=ROOT, env=env)
    return result.stdout


def test_order_and_messages_do_not_depend_on_hashing():
    first, second = run_with_hash_seed(0), run_with_hash_seed(12345)
    assert first == second
    assert len(first.splitlines()) > 100


def build_and_backpropagate(offset, results, index, barrier):
    barrier.wait(timeout=10)
    xs = [Value(offset + 0.01 * i) for i in range(50)]
    out = xs[0]
    for step in range(2_000):
        out = (out * 0.999 + xs[step % 50] * 0.001).tanh()
    loss = vsum(softmax([out, xs[1], xs[2]]))
    out.backward()
    loss.backward()
    results[index] = [x.grad for x in xs] + [out.data, loss.data]


def test_threads_building_separate_graphs_do_not_interfere():
    offsets = [0.1, -0.3, 0.7, 0.2]
    sequential = [None] * len(offsets)
    for index, offset in enumerate(offsets):
        build_and_backpropagate(offset, sequential, index, threading.Barrier(1))
    concurrent = [None] * len(offsets)
    barrier = threading.Barrier(len(offsets))
    threads = [threading.Thread(target=build_and_backpropagate,
                                args=(offset, concurrent, index, barrier))
               for index, offset in enumerate(offsets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert concurrent == sequential
    assert len({tuple(r) for r in sequential}) == len(offsets)


def test_topological_order_follows_argument_order():
    a, b, c = Value(1.0, "a"), Value(2.0, "b"), Value(3.0, "c")
    out = vsum([c * a, b, a + c])
    labels = [node.label or node.op for node in topological_order(out)]
    assert labels == ["c", "a", "mul", "b", "add", "sum"]
    senders = [(m.sender.op, m.parent_index) for m in backward_steps(out)]
    assert senders == [("sum", 0), ("sum", 1), ("sum", 2), ("add", 0), ("add", 1),
                       ("mul", 0), ("mul", 1)]
