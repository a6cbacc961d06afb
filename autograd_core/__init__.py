"""autograd_core: a scalar reverse-mode autodiff engine that reads like the lecture.

Every number is a :class:`Value`; operations record the graph (parents, op name and
local derivatives); ``backward()`` sends delta messages through it in reverse
topological order.
"""

from . import functional
from .engine import (
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
from .gradcheck import GradcheckError, RuleCheckReport, check_rules, gradcheck, numerical_grad
from .rules import RULES, DomainError, Rule

__all__ = [
    "Value",
    "Message",
    "apply_op",
    "backward_steps",
    "grad",
    "hessian",
    "no_grad",
    "is_grad_enabled",
    "detect_anomaly",
    "is_anomaly_enabled",
    "AnomalyError",
    "topological_order",
    "functional",
    "gradcheck",
    "numerical_grad",
    "check_rules",
    "GradcheckError",
    "RuleCheckReport",
    "RULES",
    "Rule",
    "DomainError",
]

__version__ = "0.1.0"
