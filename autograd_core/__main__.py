"""A small demo of the engine: the lecture's univariate logistic least squares example."""

from __future__ import annotations

from . import Value, backward_steps


def main() -> None:
    """Run the forward and backward pass of s = wx + b, y = sigmoid(s), L = (y - t)^2 / 2."""
    w, x, b, t = Value(0.5, "w"), Value(2.0, "x"), Value(-0.3, "b"), Value(1.0, "t")
    s = w * x + b
    s.label = "s"
    y = s.sigmoid()
    y.label = "y"
    loss = (y - t) ** 2 * 0.5
    loss.label = "L"
    print(f"forward:  s = {s.data:.4f}, y = {y.data:.4f}, L = {loss.data:.4f}")
    print("backward, message by message:")
    for m in backward_steps(loss):
        sender = m.sender.label or m.sender.op
        receiver = m.receiver.label or m.receiver.op or "const"
        print(f"  {sender:>4} -> {receiver:<6} delta {m.sender_delta:+.4f} x local "
              f"{m.local_grad:+.4f} = {m.contribution:+.4f}  (sum {m.receiver_delta:+.4f})")
    loss.backward()
    print(f"dL/dw = {w.grad:.4f}, dL/db = {b.grad:.4f}")


if __name__ == "__main__":
    main()
