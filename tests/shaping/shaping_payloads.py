"""Realistic payloads for the shaping tests and the benchmark, written out by hand.

`github_issues()` has the shape of GitHub's `GET /repos/{owner}/{repo}/issues` answer: 30 issues,
each with the full user object, labels, reactions, a dozen `*_url` fields, nulls, and a markdown
body — about 100 KB of compact JSON, like the real thing. Deterministic, so snapshots are stable.
"""

from __future__ import annotations

API = "https://api.github.com"
WEB = "https://github.com"
REPO = "octo-org/hello-world"

USERS = [
    ("octocat", 583231, "User"),
    ("hubot", 480938, "User"),
    ("monalisa", 2918581, "User"),
    ("dependabot[bot]", 49699333, "Bot"),
    ("mona-lisa-ops", 7788123, "User"),
    ("ghost", 10137, "User"),
]

LABELS = {
    "bug": (208045946, "d73a4a", True, "Something isn't working"),
    "enhancement": (208045947, "a2eeef", True, "New feature or request"),
    "documentation": (208045948, "0075ca", True, "Improvements or additions to documentation"),
    "good first issue": (208045949, "7057ff", True, "Good for newcomers"),
    "dependencies": (2051297384, "0366d6", False, "Pull requests that update a dependency file"),
    "performance": (4120917731, "fbca04", False, None),
    "needs triage": (4120917732, "ededed", False, ""),
}

# number, title, author index, state, labels, comments, is pull request, body
ISSUES = [
    (1347, "Found a bug in the pagination of search results", 0, "open", ["bug"], 12, False,
     "When I request page 3 of the search results, the `Link` header points back to page 1.\n\n"
     "### Steps to reproduce\n1. Search for `is:open label:bug`\n2. Follow the `next` link twice\n\n"
     "### Expected\nPage 3.\n\n### Actual\nPage 1, with the same items as the first request."),
    (1346, "Add a --dry-run flag to the deploy command", 2, "open", ["enhancement"], 4, False,
     "It would help to see which resources would change before anything is applied. Terraform and kubectl "
     "both offer this, and our users keep asking for it in discussions."),
    (1345, "Bump urllib3 from 2.2.1 to 2.2.2", 3, "open", ["dependencies"], 0, True,
     "Bumps [urllib3](https://github.com/urllib3/urllib3) from 2.2.1 to 2.2.2.\n\n"
     "<details>\n<summary>Release notes</summary>\n<p><em>Sourced from urllib3's releases.</em></p>\n"
     "<h2>2.2.2</h2>\n<ul><li>Added the Proxy-Authorization header to the list of headers to strip from "
     "requests when redirecting to a different host.</li></ul>\n</details>"),
    (1344, "Typo in the installation guide", 4, "closed", ["documentation", "good first issue"], 1, False,
     "The guide says `pip install hello-wrold`."),
    (1343, "Memory grows without bound when streaming large files", 1, "open", ["bug", "performance"], 27, False,
     "Streaming a 2 GB file through the upload endpoint makes the worker's RSS grow to 2.3 GB. It looks like "
     "the whole body is buffered before the first chunk is forwarded. Profiling with tracemalloc points at "
     "`read_body()` in `server/upload.py`, which joins every chunk into one bytes object."),
    (1342, "Support Python 3.13", 0, "closed", ["enhancement"], 8, False,
     "Python 3.13 is out. The test suite passes locally except for two deprecation warnings in the CLI."),
    (1341, "Document the retry policy", 2, "open", ["documentation"], 2, False,
     "Which status codes are retried, how many times, and with which backoff? None of this is written down."),
    (1340, "Crash on empty config file", 5, "closed", ["bug", "needs triage"], 3, False,
     "An empty `config.yaml` gives `TypeError: 'NoneType' object is not subscriptable` instead of a message."),
    (1339, "Use a connection pool for upstream requests", 1, "open", ["performance"], 6, True,
     "Each request opens a new TCP connection. This PR keeps one pooled client per upstream host."),
    (1338, "Dark mode for the dashboard", 4, "open", ["enhancement", "good first issue"], 15, False,
     "The dashboard is very bright at night. A toggle, or following the system preference, would be great."),
    (1337, "Bump pytest from 8.1.1 to 8.2.0", 3, "closed", ["dependencies"], 0, True,
     "Bumps [pytest](https://github.com/pytest-dev/pytest) from 8.1.1 to 8.2.0."),
    (1336, "Timeouts are ignored for DNS resolution", 0, "open", ["bug"], 9, False,
     "Setting `timeout: 5s` does not bound the DNS lookup; with a dead resolver a call hangs for 40 seconds."),
    (1335, "Explain how to rotate API keys", 2, "closed", ["documentation"], 0, False,
     "A short section on rotating keys without downtime would help operators."),
    (1334, "Flaky test: test_reconnect_after_reset", 5, "open", ["bug", "needs triage"], 5, False,
     "Fails about once in fifty runs on CI with `ConnectionResetError`. Probably a race with the server "
     "shutting down before the client reads the last frame."),
    (1333, "Add type hints to the public API", 1, "closed", ["enhancement"], 11, True,
     "Adds annotations to every public function and a `py.typed` marker so users' type checkers see them."),
    (1332, "README badge points at the old CI", 4, "closed", ["documentation", "good first issue"], 0, False,
     "The build badge still links to the retired CI service."),
    (1331, "Large JSON responses are slow to render", 0, "open", ["performance"], 7, False,
     "Rendering a 5 MB response in the web view takes eight seconds; most of it is spent in syntax "
     "highlighting. Could we cap highlighting at some size?"),
    (1330, "Bump actions/checkout from 3 to 4", 3, "closed", ["dependencies"], 0, True,
     "Bumps [actions/checkout](https://github.com/actions/checkout) from 3 to 4."),
    (1329, "Allow comments in the manifest", 2, "open", ["enhancement"], 3, False,
     "YAML already has comments, but the TOML loader strips them when it rewrites the file."),
    (1328, "Wrong exit code when validation fails", 5, "closed", ["bug"], 2, False,
     "`validate` exits 0 even when it prints errors, so CI never fails."),
    (1327, "Cache compiled templates", 1, "closed", ["performance"], 4, True,
     "Templates were compiled on every call. They are now compiled once when the manifest loads."),
    (1326, "Clarify the licence of the example data", 4, "open", ["documentation", "needs triage"], 1, False,
     "Is the sample dataset under the same licence as the code?"),
    (1325, "Unicode in tool names breaks the CLI table", 0, "open", ["bug"], 6, False,
     "A tool named `café_search` misaligns every column after it: the width is computed in bytes, not cells."),
    (1324, "Provide an ARM64 container image", 2, "closed", ["enhancement"], 19, False,
     "Many of us deploy on Graviton now. A multi-arch image would save a build step."),
    (1323, "Bump ruff from 0.4.1 to 0.4.2", 3, "closed", ["dependencies"], 0, True,
     "Bumps [ruff](https://github.com/astral-sh/ruff) from 0.4.1 to 0.4.2."),
    (1322, "Log lines are missing the request id", 5, "open", ["enhancement", "good first issue"], 2, False,
     "When debugging a failed call it is hard to correlate the access log with the error log."),
    (1321, "Panic when the upstream sends an empty body with 204", 1, "closed", ["bug"], 4, False,
     "A 204 with `Content-Type: application/json` is parsed as JSON and fails with `Expecting value`."),
    (1320, "Getting started guide skips the auth step", 4, "closed", ["documentation"], 3, False,
     "Following the guide gives 401 at step 4 because the token is never configured."),
    (1319, "Reduce cold start time", 0, "open", ["performance", "needs triage"], 10, False,
     "Starting the server takes 3 seconds, most of it importing modules that are only needed for `init`."),
    (1318, "Support OAuth device flow", 2, "open", ["enhancement"], 0, False, ""),
]


def _user(index: int) -> dict:
    login, user_id, kind = USERS[index]
    return {
        "login": login,
        "id": user_id,
        "node_id": f"MDQ6VXNlcj{user_id:08d}",
        "avatar_url": f"https://avatars.githubusercontent.com/u/{user_id}?v=4",
        "gravatar_id": "",
        "url": f"{API}/users/{login}",
        "html_url": f"{WEB}/{login}",
        "followers_url": f"{API}/users/{login}/followers",
        "following_url": f"{API}/users/{login}/following{{/other_user}}",
        "gists_url": f"{API}/users/{login}/gists{{/gist_id}}",
        "starred_url": f"{API}/users/{login}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{API}/users/{login}/subscriptions",
        "organizations_url": f"{API}/users/{login}/orgs",
        "repos_url": f"{API}/users/{login}/repos",
        "events_url": f"{API}/users/{login}/events{{/privacy}}",
        "received_events_url": f"{API}/users/{login}/received_events",
        "type": kind,
        "user_view_type": "public",
        "site_admin": False,
    }


def _label(name: str) -> dict:
    label_id, color, default, description = LABELS[name]
    return {
        "id": label_id,
        "node_id": f"MDU6TGFiZWw{label_id}",
        "url": f"{API}/repos/{REPO}/labels/{name.replace(' ', '%20')}",
        "name": name,
        "color": color,
        "default": default,
        "description": description,
    }


def _issue(number, title, author, state, labels, comments, is_pull, body) -> dict:  # noqa: ANN001
    base = f"{API}/repos/{REPO}/issues/{number}"
    day = 1 + (1347 - number) % 28
    closed = state == "closed"
    assignee = _user((author + 1) % len(USERS)) if number % 3 == 0 else None
    issue = {
        "url": base,
        "repository_url": f"{API}/repos/{REPO}",
        "labels_url": f"{base}/labels{{/name}}",
        "comments_url": f"{base}/comments",
        "events_url": f"{base}/events",
        "html_url": f"{WEB}/{REPO}/{'pull' if is_pull else 'issues'}/{number}",
        "id": 2200000000 + number,
        "node_id": f"I_kwDOAbCdEf6{number:05d}",
        "number": number,
        "title": title,
        "user": _user(author),
        "labels": [_label(name) for name in labels],
        "state": state,
        "locked": False,
        "assignee": assignee,
        "assignees": [assignee] if assignee else [],
        "milestone": None
        if number % 4
        else {
            "url": f"{API}/repos/{REPO}/milestones/7",
            "html_url": f"{WEB}/{REPO}/milestone/7",
            "labels_url": f"{API}/repos/{REPO}/milestones/7/labels",
            "id": 9876543,
            "node_id": "MI_kwDOAbCdEf4Alz7P",
            "number": 7,
            "title": "v2.4",
            "description": "Stability and performance",
            "creator": _user(0),
            "open_issues": 14,
            "closed_issues": 31,
            "state": "open",
            "created_at": "2024-03-01T09:00:00Z",
            "updated_at": "2024-05-20T17:12:44Z",
            "due_on": "2024-06-30T07:00:00Z",
            "closed_at": None,
        },
        "comments": comments,
        "created_at": f"2024-05-{day:02d}T10:{number % 60:02d}:00Z",
        "updated_at": f"2024-05-{day:02d}T18:{(number * 7) % 60:02d}:31Z",
        "closed_at": f"2024-05-{day:02d}T19:00:00Z" if closed else None,
        "author_association": "MEMBER" if author in (0, 1) else "CONTRIBUTOR" if author == 2 else "NONE",
        "type": None,
        "active_lock_reason": None,
        "sub_issues_summary": {"total": 0, "completed": 0, "percent_completed": 0},
        "body": body or None,
        "closed_by": _user(1) if closed else None,
        "reactions": {
            "url": f"{base}/reactions",
            "total_count": comments // 2,
            "+1": comments // 3,
            "-1": 0,
            "laugh": 0,
            "hooray": comments % 2,
            "confused": 0,
            "heart": comments // 6,
            "rocket": 0,
            "eyes": 0,
        },
        "timeline_url": f"{base}/timeline",
        "performed_via_github_app": None,
        "state_reason": ("completed" if closed else None),
    }
    if is_pull:
        issue["draft"] = False
        issue["pull_request"] = {
            "url": f"{API}/repos/{REPO}/pulls/{number}",
            "html_url": f"{WEB}/{REPO}/pull/{number}",
            "diff_url": f"{WEB}/{REPO}/pull/{number}.diff",
            "patch_url": f"{WEB}/{REPO}/pull/{number}.patch",
            "merged_at": f"2024-05-{day:02d}T19:00:00Z" if closed else None,
        }
    return issue


def github_issues() -> list[dict]:
    """A fresh copy every call (tests may compare against it after shaping)."""
    return [_issue(*row) for row in ISSUES]


def github_validation_error() -> dict:
    """GitHub's 422 body for a bad `labels` value."""
    return {
        "message": "Validation Failed",
        "errors": [{"resource": "Issue", "code": "invalid", "field": "labels", "value": None}],
        "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
        "status": "422",
    }
