"""Python entry points (`python: package.module:function`) as a source of tools."""

from .source import FunctionInvoker, PythonFunctionsSource, open_python_source

__all__ = ["FunctionInvoker", "PythonFunctionsSource", "open_python_source"]
