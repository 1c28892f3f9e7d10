"""`mcprt init` on a terminal: the real CLI in a pseudo-terminal offers the tags, and the answer shapes the manifest."""

from __future__ import annotations

import os
import pty
import select
import signal
import termios
import sys
import time
from pathlib import Path

from tests.support.cli import mcprt_cli

SPEC = """openapi: 3.0.3
info: {title: Shop, version: "1"}
servers: [{url: "https://shop.example.com"}]
paths:
  /pets: {get: {operationId: listPets, tags: [pets], responses: {'200': {description: ok}}}}
  /pets/{id}: {get: {operationId: getPet, tags: [pets], parameters: [{name: id, in: path, required: true,
    schema: {type: string}}], responses: {'200': {description: ok}}}}
  /orders: {get: {operationId: listOrders, tags: [store], responses: {'200': {description: ok}}}}
  /users: {get: {operationId: listUsers, tags: [users], responses: {'200': {description: ok}}}}
  /health: {get: {operationId: health, responses: {'200': {description: ok}}}}
"""
PROMPT = b"Include which tags?"


class Terminal:
    """The CLI in a pseudo-terminal made by `pty.fork()`: its controlling terminal, `isatty()` true on 0, 1 and 2."""

    def __init__(self, *args: str, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MCPRT_")}
        argv = [sys.executable, "-m", "mcprt", *args]
        self.pid, self.master = pty.fork()
        if self.pid == 0:  # the child: become the CLI
            try:
                attrs = termios.tcgetattr(0)
                attrs[0] &= ~termios.IXON  # no XON/XOFF flow control: output never waits for a ^Q
                termios.tcsetattr(0, termios.TCSANOW, attrs)
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.seen = b""

    def _read(self, timeout: float) -> bool:
        """Read what is there within `timeout`; False once the terminal is closed (the child ended)."""
        if not select.select([self.master], [], [], timeout)[0]:
            return True
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.seen += chunk
        return bool(chunk)

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")  # Enter, as a terminal sends it

    def finish(self, timeout: float = 180) -> int:
        """The exit code, reading the terminal until the child ends (the timeout only bounds a hang)."""
        deadline = time.monotonic() + timeout
        done, status = 0, 0
        while not done and time.monotonic() < deadline:
            if not self._read(0.2):  # the terminal closed: the child is ending
                time.sleep(0.05)
            done, status = os.waitpid(self.pid, os.WNOHANG)
        os.close(self.master)
        if not done:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            raise AssertionError(f"the CLI did not end: {self.seen.decode(errors='replace')!r}")
        return os.waitstatus_to_exitcode(status)


def test_on_a_terminal_init_offers_the_tags_and_writes_the_chosen_two(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SPEC)
    term = Terminal("init", "--openapi", "shop.yaml", "--out", "mcp.yaml", cwd=tmp_path)
    # typed ahead, as a person may: the terminal keeps the lines until the CLI reads them
    term.send("pets 7")  # an unknown number is named and the question asked again
    term.send("1, users")
    assert term.finish() == 0, term.seen.decode(errors="replace")
    transcript = term.seen.decode(errors="replace")
    assert "1. pets (2)" in transcript and "2. store (1)" in transcript and "3. users (1)" in transcript
    assert "1 operation without a tag" in transcript
    assert transcript.count("Include which tags?") == 2 and "no tag '7'" in transcript
    text = (tmp_path / "mcp.yaml").read_text()
    assert "    include: {tags: [pets, users]}\n" in text
    # exactly those tags' operations are active; the others are listed commented out
    assert "\n      listPets:" in text and "\n      getPet:" in text and "\n      listUsers:" in text
    assert "\n      # listOrders:" in text and "\n      # health: {}" in text
    listed = mcprt_cli("tools", "mcp.yaml", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert sorted(n for n in ("list_pets", "get_pet", "list_users", "list_orders", "health")
                  if f'"name":"{n}"' in listed.stdout) == ["get_pet", "list_pets", "list_users"]


def test_on_a_terminal_no_input_asks_nothing_and_includes_every_operation(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SPEC)
    term = Terminal("init", "--openapi", "shop.yaml", "--out", "mcp.yaml", "--no-input", cwd=tmp_path)
    assert term.finish() == 0, term.seen.decode(errors="replace")
    assert PROMPT not in term.seen
    text = (tmp_path / "mcp.yaml").read_text()
    # an operation with nothing to set is listed by its key as a comment, not as an empty entry
    assert "include:" not in text and "\n      listOrders:" in text and "\n      # health: {}" in text


def test_on_a_terminal_a_given_tag_asks_nothing(tmp_path: Path) -> None:
    (tmp_path / "shop.yaml").write_text(SPEC)
    term = Terminal("init", "--openapi", "shop.yaml", "--out", "mcp.yaml", "--tag", "store", cwd=tmp_path)
    assert term.finish() == 0, term.seen.decode(errors="replace")
    assert PROMPT not in term.seen
    assert "    include: {tags: [store]}\n" in (tmp_path / "mcp.yaml").read_text()


def test_on_a_terminal_tag_names_of_several_words_are_taken_whole(tmp_path: Path) -> None:
    """Found by a new-user trial: DigitalOcean's tags are `Droplet Actions`, `SSH Keys`, `1-Click
    Applications`; the answer was split at every space, so no such name could be typed (only its number),
    and a typo got no suggestion (`--tag` gives one)."""
    spec = Path(__file__).resolve().parents[2] / "catalog" / "digitalocean" / "spec" / "digitalocean.json"
    term = Terminal("init", "--openapi", str(spec), "--out", "mcp.yaml", cwd=tmp_path)
    term.send("Dropletz")
    term.send("droplet actions, SSH Keys droplets")
    assert term.finish() == 0, term.seen.decode(errors="replace")
    transcript = term.seen.decode(errors="replace")
    assert "no tag 'Dropletz' (did you mean 'Droplets'?)" in transcript
    assert transcript.count("Include which tags?") == 2
    text = (tmp_path / "mcp.yaml").read_text()
    assert '    include: {tags: ["Droplet Actions", "SSH Keys", Droplets]}\n' in text
    assert "\n      dropletActions_list:" in text and "\n      sshKeys_get:" in text and "\n      droplets_list:" in text
    assert "\n      # actions_list:" in text  # tagged `Actions` only: commented out


def test_on_a_terminal_end_of_input_after_a_refused_answer_aborts_and_writes_nothing(tmp_path: Path) -> None:
    """Found by a new-user trial: an answer init refused, then Ctrl-D, wrote a manifest of every operation
    (129 of Blockfrost's) as if Enter had been pressed. A word some tags contain gets them as suggestions."""
    (tmp_path / "shop.yaml").write_text(SPEC.replace("tags: [users]", "tags: [Shop » Users]"))
    term = Terminal("init", "--openapi", "shop.yaml", "--out", "mcp.yaml", cwd=tmp_path)
    term.send("users")
    os.write(term.master, b"\x04")  # Ctrl-D at the start of a line: end of input
    assert term.finish() == 1, term.seen.decode(errors="replace")
    transcript = term.seen.decode(errors="replace")
    assert "no tag 'users' (did you mean 'Shop » Users'?)" in transcript
    assert "mcp.yaml: not written: input ended before tags were chosen" in transcript
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.yaml"]
