"""`python -I -S -c LAUNCH_CODE SOCKET PYTHON_ARGS…` (tests/support/zygote.py runs this file as `-c` code):
run `python PYTHON_ARGS` (`-m mcprt ARGS…` or `SCRIPT ARGS…`) as a fork of the suite's zygote
(tests/support/zygote.py says why), or, when the zygote says a fork cannot reproduce a fresh start (or
is not there), as a fresh interpreter. Stdlib only and no `site`: it starts in ~20 ms."""

import json
import os
import signal
import socket
import sys

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def fresh(python_args: list[str]) -> None:
    executable = sys.executable
    os.execve(executable, [executable, *python_args], dict(os.environ))


def main() -> None:
    path, python_args = sys.argv[1], sys.argv[2:]
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        connection.connect(path)
    except OSError:
        fresh(python_args)
    # Started in a session of its own (as mcprt starts a stdio server), the launcher stands for a group:
    # the child then leads one of its own, and a signal to the launcher goes to that whole group.
    own_group = os.getpgrp() == os.getpid()
    # A fresh interpreter keeps the signals its parent ignored (exec keeps SIG_IGN; Python installs its
    # SIGINT handler only over SIG_DFL): a run in the background ignores SIGINT, and so must the child.
    ignored = [int(signum) for signum in FORWARDED if signal.getsignal(signum) == signal.SIG_IGN]
    request = {"env": dict(os.environ), "cwd": os.getcwd(), "python_args": python_args,
               "launcher": os.getpid(), "socket": path, "own_group": own_group, "ignored": ignored}
    socket.send_fds(connection, [json.dumps(request).encode()], [0, 1, 2])
    answer = connection.recv(64)
    if answer in (b"fresh\n", b""):  # a start-only PYTHON* variable differs from the zygote's
        connection.close()
        fresh(python_args)
    child = int(answer)
    send = os.killpg if own_group else os.kill

    def forward(signum: int, _frame: object) -> None:
        try:
            send(child, signum)
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
