"""A small notes REST API for the quick start (standard library only): what `mcprt init` scaffolds.

    python catalog/quickstart/notes_api.py [--port 8080]

Serves `notes-api.yaml` (its OpenAPI description) at /openapi.yaml and the notes (seeded from
notes.json, kept in memory) at /notes. Listens on 127.0.0.1 only; prints its URL once listening.
"""

from __future__ import annotations

import argparse
import json
import threading
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

HERE = Path(__file__).resolve().parent
_LOCK = threading.Lock()
_NOTES: dict[int, dict] = {n["id"]: n for n in json.loads((HERE / "notes.json").read_text(encoding="utf-8"))}


class NotesHandler(BaseHTTPRequestHandler):
    server_version = "notes-api/1"

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["openapi.yaml"]:
            self._send(200, (HERE / "notes-api.yaml").read_bytes(), "application/yaml")
        elif parts == ["notes"]:
            query = parse_qs(url.query)
            words = (query.get("q") or [""])[0].lower().split()
            limit = int((query.get("limit") or ["10"])[0])
            with _LOCK:
                found = [n for n in _NOTES.values()
                         if not words or any(w in f"{n['title']} {n['body']}".lower() for w in words)]
            self._json(200, found[:limit])
        elif len(parts) == 2 and parts[0] == "notes" and parts[1].isdigit():
            note = _NOTES.get(int(parts[1]))
            self._json(200, note) if note else self._json(404, {"message": f"no note {parts[1]}"})
        else:
            self._json(404, {"message": "not found"})

    def do_POST(self) -> None:  # noqa: N802
        if urlparse(self.path).path.rstrip("/") != "/notes":
            self._json(404, {"message": "not found"})
            return
        try:
            data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            title, body = str(data["title"]), str(data["body"])
        except (ValueError, KeyError, TypeError):
            self._json(422, {"message": "a note needs a title and a body"})
            return
        with _LOCK:
            note = {"id": max(_NOTES, default=0) + 1, "title": title, "body": body,
                    "tags": [str(t) for t in data.get("tags") or []], "created": date.today().isoformat(),
                    "author": {"login": "you"}, "links": []}
            _NOTES[note["id"]] = note
        self._json(201, note)

    def _json(self, status: int, value: object) -> None:
        self._send(status, json.dumps(value).encode(), "application/json")

    def _send(self, status: int, body: bytes, media_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet: the quick start's terminal
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080, help="TCP port on 127.0.0.1 (0: a free one)")
    port = parser.parse_args().port
    server = ThreadingHTTPServer(("127.0.0.1", port), NotesHandler)
    print(f"notes API at http://127.0.0.1:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
