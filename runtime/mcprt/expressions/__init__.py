"""The manifest's expression languages, compiled once per text: JMESPath (`prune`) and sandboxed Jinja2
(`description`, `output`).

A leaf package: it imports nothing from mcprt, so the manifest's load check (errors at their line)
and shaping (running them per call) both use it without importing each other.
"""
