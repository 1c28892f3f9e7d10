"""Tasks: tool calls that outlast their request (the MCP tasks extension, `io.modelcontextprotocol/tasks`,
SEP-2663).

- `record`: a task's state and its wire forms (`CreateTaskResult`, the `tasks/get` DetailedTask);
- `store`: where task records live in this process, bound to the principal that created them, bounded
  and expired;
- `run`: driving a started call as a task (its questions park it in `input_required`, `tasks/update`
  answers them, `tasks/cancel` cancels it) until its result or error is recorded.

The server (`server/tasks.py`) serves `tasks/get`, `tasks/update` and `tasks/cancel` and decides, per
call, whether a task is created; with `server.state` the records live in Redis (`state/tasks.py`).
"""
