"""Registry of benchmark tasks; importing this package registers every shipped task.

``build_split`` (evaluate.tasks.build) turns a task's official files into a split file.
"""
from cxr.evaluate.tasks import chexpert5x200, covid, mimic5x200, nih_lt, rsna, siim, vindr  # noqa: F401
from cxr.evaluate.tasks.base import TASKS, BenchmarkTask

__all__ = ["TASKS", "BenchmarkTask", "get_task"]


def get_task(name: str) -> BenchmarkTask:
    return TASKS.get(name)()
