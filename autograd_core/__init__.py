"""autograd_core: a scalar reverse-mode autodiff engine that reads like the lecture.

Every number is a :class:`Value`; operations record the graph (parents, op name and
local derivatives); ``backward()`` sends delta messages through it in reverse
topological order.

Guarantees (each one is a test in ``tests/autograd_core``):

* **Kinks** have fixed conventions: relu'(0) = 0, abs'(0) = 0, leaky_relu'(0) is the
  slope, and a tie in ``max`` sends the whole gradient to the first argument.
  ``gradcheck`` and ``check_rules`` report a point within ``eps`` of a kink as
  non-differentiable (``NonDifferentiableWarning`` / ``RuleCheckReport.kinks``), not
  as a failure.
* **Overflow gives inf**, never ``OverflowError`` (``exp``, ``**``, products); NaN
  is never accepted as input data. ``detect_anomaly()`` turns the first NaN or inf
  produced by any op, forward or backward, into an ``AnomalyError`` (a
  ``FloatingPointError``) naming the op, its inputs and the line that made the node.
* **Domain errors** are ``DomainError`` (a ``ValueError``) naming the op and the
  value: ``log`` of x <= 0, ``sqrt`` of x < 0, ``0 ** negative integer``, a negative base with
  a non-integer or ``Value`` exponent, an infinite exponent, division by zero,
  ``sin``/``cos`` of inf
  (``0 ** a`` for a non-integer ``a < 0`` is its one-sided limit, inf).
  A wrong type is a ``TypeError`` showing the value and what is allowed; an op
  without a rule is a ``NotImplementedError``.
* **Accuracy in the tails**: ``sigmoid``, ``softplus``, ``logsumexp`` and
  ``log_softmax`` give finite values and gradients within a few ulps of the exact
  answer (checked against mpmath) for inputs up to ``|x| = 1000``. (``tanh``'s
  derivative, 1 - tanh(x)^2, is 0 beyond ``|x| ~ 19``: absolutely, not relatively, exact.)
* **One answer at every order**: ``grad(..., create_graph=True)`` gives the first
  derivative's number bit for bit wherever it is defined (inf and the far tails
  included): each rule runs the same stable form on Values as on floats. It records
  the derivative graph even inside ``no_grad()``, so ``hessian`` works there too.
* **Stable composites are rules**: ``logsumexp``, ``log_sigmoid``, ``bce`` and
  ``bce_logits`` choose their stable form per sample, on every backend.
* **The trace never returns a silently wrong number**: it refuses decisions on data
  at trace time and NaN or out-of-domain samples at replay (see
  :mod:`autograd_core.trace`).
* **Depth**: no recursion anywhere; a graph a million nodes deep runs forward,
  ``topological_order``, ``backward`` and ``check_rules`` at the default recursion
  limit.
* **Determinism**: node order follows argument order (tuples and insertion-ordered
  dicts, never sets), so traversals, messages and pictures are the same every run.
* **Memory**: nodes hold no reference cycles, so a dropped graph is freed at once
  by reference counting. (``backward(create_graph=True)`` stores Values in
  ``.grad`` that refer back to the graph; the cycle collector frees those, but
  prefer ``grad(..., create_graph=True)``.) The compiled store keeps ordinary nodes
  out of the cycle collector's walks and lets it see every node a Value grad reaches.
* **Two node stores, one answer**: the compiled store and the pure-Python one
  (``AUTOGRAD_CORE_PURE=1``; ``CORE`` says which runs) give bit-for-bit equal
  values and gradients.
* **Threads**: ``no_grad()`` and ``detect_anomaly()`` affect only the thread that
  enters them.
"""

from . import engine as _engine
from . import functional
from . import gradcheck as _gradcheck
from . import rules as _rules
from .engine import (
    CORE,
    AnomalyError,
    Message,
    Value,
    apply_op,
    backward_steps,
    detect_anomaly,
    grad,
    hessian,
    is_anomaly_enabled,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from .gradcheck import (
    GradcheckError,
    NonDifferentiableWarning,
    RuleCheckReport,
    RuleFailure,
    check_rules,
    gradcheck,
    numerical_grad,
)
from .rules import (
    BINARY_OPERATORS,
    RULES,
    UNARY_OPERATORS,
    DomainError,
    Rule,
    register,
    replace_rule,
)

# The package's public names are its modules' public names (a test checks that each
# is importable from here), plus the functional module itself.
__all__ = [*_engine.__all__, *_gradcheck.__all__, *_rules.__all__, "functional"]

__version__ = "0.1.0"
