"""A Python source's union arguments refused with the problem of the branch the value names — over
stdio with the SDK client against a real `mcprt up`:

- a discriminated union (`Annotated[Cat | Dog, Field(discriminator="kind")]`, or branches whose
  `kind` is a `Literal`) is refused with the problem of the branch the value names (`pet: 'bark' is
  required`), not another branch's (`pet.kind: 'cat' was expected`); an unknown tag says which are
  allowed;
- a union inside a union (an `Optional` discriminated union: it got `pet.kind: 'cat' was expected`)
  or inside an optional list is refined too (`u[0]: … fits none of its 2 forms`, it was "is not
  valid under any of the given schemas");
- a value no branch of 30 takes gives a short message: 3 forms listed, the rest counted, the value's
  text cut (it was 155,918 characters for a 5,000-character value).
"""

from __future__ import annotations

from pathlib import Path

from mcp import Client

from tests.support.served import stdio_up, text_of

MODULE = '''
from typing import Annotated, Literal, Optional, Union

from pydantic import BaseModel, Field


class Cat(BaseModel):
    kind: Literal["cat"]
    meow: int


class Dog(BaseModel):
    kind: Literal["dog"]
    bark: bool


class Item(BaseModel):
    sku: str


class Point(BaseModel):
    x: int


def adopt(pet: Annotated[Union[Cat, Dog], Field(discriminator="kind")]) -> str:
    """Adopt a pet."""
    return pet.kind


def rehome(pet: Optional[Annotated[Union[Cat, Dog], Field(discriminator="kind")]] = None,
           pets: list[Annotated[Union[Cat, Dog], Field(discriminator="kind")]] = []) -> int:
    """Rehome pets."""
    return len(pets) + (pet is not None)


def house(pet: Union[Cat, Dog]) -> str:
    """House a pet."""
    return pet.kind


def place(u: Optional[list[Union[Item, Point]]] = None) -> int:
    """Place things."""
    return len(u or [])


Code = Union[tuple(Annotated[str, Field(pattern=f"^code{i}$")] for i in range(30))]


def redeem(code: Code) -> str:
    """Redeem a code."""
    return code
'''

MANIFEST = """\
version: 1
sources:
  s:
    python: unions_tools
"""


def _served(folder: Path) -> Client:
    (folder / "unions_tools.py").write_text(MODULE)
    (folder / "mcp.yaml").write_text(MANIFEST)
    return Client(stdio_up(folder / "mcp.yaml"), mode="legacy")


LONG = "q" * 5000
REFUSED = [
    ("adopt", {"pet": {"kind": "dog"}}, "pet: 'bark' is required"),
    ("adopt", {"pet": {"kind": "dog", "bark": "loud"}}, "pet.bark: 'loud' is not of type 'boolean'"),
    ("adopt", {"pet": {"kind": "cow"}}, "pet.kind: 'cow' is not one of 'cat', 'dog'"),
    ("adopt", {"pet": {}}, "pet: 'kind' is required (one of 'cat', 'dog')"),
    ("rehome", {"pet": {"kind": "dog"}}, "pet: 'bark' is required"),
    ("rehome", {"pets": [{"kind": "cat", "meow": 1}, {"kind": "dog", "bark": 3}]},
     "pets[1].bark: 3 is not of type 'boolean'"),
    ("house", {"pet": {"kind": "dog"}}, "pet: 'bark' is required"),
    ("house", {"pet": {"kind": "cat", "meow": "x"}}, "pet.meow: 'x' is not of type 'integer'"),
    ("place", {"u": [{"y": 1}]}, "u[0]: {'y': 1} fits none of its 2 forms: 'sku' is required, or 'x' is required"),
    ("place", {"u": [{"sku": 5}]}, "u[0].sku: 5 is not of type 'string'"),
]


async def test_a_union_argument_is_refused_with_the_problem_of_the_branch_it_names(tmp_path: Path) -> None:
    async with _served(tmp_path) as client:
        for tool, arguments, problem in REFUSED:
            result = await client.call_tool(tool, arguments)
            assert result.is_error
            text = text_of(result)
            assert text.startswith(f"invalid arguments for {tool}: {problem}. Arguments"), (tool, arguments, text)

        many = text_of(await client.call_tool("redeem", {"code": LONG}))
        assert len(many) < 1000, len(many)
        short = "'" + "q" * 27 + "..." + "q" * 28 + "'"
        assert many.startswith(f"invalid arguments for redeem: code: {short} fits none of its 30 forms: "
                               f"{short} does not match '^code0$', or {short} does not match '^code1$', or "
                               f"{short} does not match '^code2$', or … 27 more. Arguments"), many
        assert text_of(await client.call_tool("adopt", {"pet": {"kind": "dog", "bark": True}})) == "dog"
