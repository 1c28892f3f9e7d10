"""`python -I -S zygote_launcher.py SOCKET START_ENV_JSON ARGS…`: run `python -m mcprt ARGS` as a fork of
the suite's zygote (tests/support/zygote.py says why), or, when that cannot reproduce a fresh start, as
a fresh interpreter. Stdlib only and no `site`: it starts in ~20 ms."""

import json
import os
import signal
import socket
import sys

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def fresh(args: list[str]) -> None:
    executable = sys.executable
    os.execve(executable, [executable, "-m", "mcprt", *args], dict(os.environ))


def main() -> None:
    path, start_env, args = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3:]
    mine = {k: v for k, v in os.environ.items() if k.startswith("PYTHON") and k != "PYTHONUNBUFFERED"}
    if mine != start_env:
        fresh(args)
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        connection.connect(path)
    except OSError:
        fresh(args)
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "args": args, "argv0": "-m",
               "launcher": os.getpid(), "socket": path}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    child = int(connection.recv(64))

    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED:
        signal.signal(signum, forward)
    line = connection.recv(64)  # the child's wait status, once it has exited
    if not line:
        sys.exit(1)
    status = int(line)
    if os.WIFSIGNALED(status):
        signum = os.WTERMSIG(status)
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    sys.exit(os.waitstatus_to_exitcode(status))


main()
