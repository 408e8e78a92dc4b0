"""Registry of evaluation methods; importing this package registers the shipped ones."""
from cxr.evaluate.methods import linear_probe, zero_shot  # noqa: F401
from cxr.evaluate.methods.base import (METHODS, RESULT_COLUMNS, MethodContext, MethodOutput, TaskData,
                                   result_row)

__all__ = ["METHODS", "RESULT_COLUMNS", "MethodContext", "MethodOutput", "TaskData", "result_row"]
