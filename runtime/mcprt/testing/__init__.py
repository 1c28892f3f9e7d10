"""Recorded cases, replay and snapshots: `mcprt test`, `mcprt record` and the pytest plugin share this.

    cases = find_cases(Path("mcp.yaml"))   # cases/<tool>/<case>.yaml beside it and beside each included manifest
    with ReplaySession("mcp.yaml") as session:              # the real pipeline against a loopback upstream
        outcome = check_case(session, SnapshotStore(cases[0].cases_root), cases[0], update=False)
    report = run_manifest_cases(Path("mcp.yaml"))           # all of them, one compile
    recorded = record_case("mcp.yaml", "list_issues", {"repo": "x"}, name=None)   # live call → case + snapshot
"""
