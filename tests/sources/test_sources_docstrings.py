"""Docstrings in the three common styles give the tool description and the argument descriptions."""

from __future__ import annotations

from pathlib import Path

import pytest

from mcprt.sources.python.docstrings import parse_docstring

from sources_support import running, write_manifest


def test_google_style() -> None:
    doc = parse_docstring("""Find notes by words.

    Searches titles and bodies.

    Args:
        query (str): Words to look for,
            all of them.
        limit: Most results.

    Returns:
        The notes.
    """)
    assert doc.summary == "Find notes by words."
    assert doc.params == {"query": "Words to look for, all of them.", "limit": "Most results."}


def test_numpy_style() -> None:
    doc = parse_docstring("""Compute a mean
    over many values.

    Parameters
    ----------
    values : list of float
        The numbers.
    weights : list of float, optional
        One per value.
        Defaults to equal weights.

    Returns
    -------
    float
    """)
    assert doc.summary == "Compute a mean over many values."
    assert doc.params == {"values": "The numbers.", "weights": "One per value. Defaults to equal weights."}


def test_rest_style() -> None:
    doc = parse_docstring("""Send a message.

    :param to: The recipient,
        an address.
    :param str body: The text.
    :returns: The message id.
    """)
    assert doc.summary == "Send a message."
    assert doc.params == {"to": "The recipient, an address.", "body": "The text."}


def test_summary_stops_at_a_section_and_empty_docstrings_are_empty() -> None:
    assert parse_docstring("Args:\n    x: y\n").summary == ""
    assert parse_docstring("Do it.\nArgs:\n    x: the x\n").params == {"x": "the x"}
    assert parse_docstring(None).summary == "" and parse_docstring("   ").params == {}


MODULE = '''
def search(query: str) -> str:
    """Search the catalogue for products.

    Use this before create_order to find SKUs; results are sorted by relevance.

    Args:
        query: Words to look for.
            All of them.

    Returns:
        Matching products.
    """
    return query


def stats(values: list[float]) -> float:
    """Statistics of numbers.

    Parameters
    ----------
    values : list of float
        The numbers.

    Returns
    -------
    float
    """
    return sum(values)


def send(to: str) -> str:
    """Send a message. It goes out at once, and nobody can call it back later on.

    :param to: The recipient,
        an address.
    :type to: str
    :returns: The message id.
    """
    return to
'''


@pytest.mark.parametrize(
    ("policy", "described"),
    [
        ("{}", {"search": "Search the catalogue for products.", "stats": "Statistics of numbers.",
                "send": "Send a message. It goes out at once, and nobody can call it back later on."}),
        ("{max_chars: 40}", {"search": "Search the catalogue for products.", "stats": "Statistics of numbers.",
                             "send": "Send a message."}),
        ("{style: full}", {
            "search": "Search the catalogue for products.\n\nUse this before create_order to find SKUs; results "
                      "are sorted by relevance.\n\nReturns:\n    Matching products.",
            "stats": "Statistics of numbers.\n\nReturns\n-------\nfloat",
            "send": "Send a message. It goes out at once, and nobody can call it back later on.\n\n"
                    ":returns: The message id.",
        }),
    ],
)
async def test_defaults_descriptions_shape_a_python_tools_description(tmp_path: Path, policy: str,
                                                                     described: dict[str, str]) -> None:
    """`style: full` gives the docstring but its parameter sections (a usage paragraph was dropped
    whatever the style), and `max_chars` cuts at a sentence (a 1,073-character paragraph was sent whole)."""
    (tmp_path / "documented.py").write_text(MODULE)
    manifest = write_manifest(tmp_path, f"""
        version: 1
        defaults:
          descriptions: {policy}
        sources:
          s:
            python: documented
    """)
    async with running(manifest) as (_, compiled):
        assert {tool["name"]: tool["description"] for tool in compiled.toolset.list_tools()} == described
