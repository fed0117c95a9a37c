"""The fit estimator: memory per device, speed, verdict, solvers and reproduction commands."""

from .fit import FitRequest, FitResult, estimate
from .plan import Options, PlanError, plan

__all__ = ["FitRequest", "FitResult", "Options", "PlanError", "estimate", "plan"]
