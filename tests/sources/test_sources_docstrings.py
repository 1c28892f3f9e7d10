"""Docstrings in the three common styles give the tool description and the argument descriptions."""

from __future__ import annotations

from mcprt.sources.python.docstrings import parse_docstring


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
