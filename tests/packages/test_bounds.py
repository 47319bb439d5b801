"""The bounds on a package's YAML, checked on parser events before the loader runs."""

import pytest

from ades.errors import InvalidPackage
from ades.packages.bounds import MAX_ALIASES, MAX_DEPTH, MAX_NODES, check_bounds


def bomb(levels: int = 9, width: int = 10) -> str:
    """The "billion laughs": each level a list of ``width`` aliases of the one before."""
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def nested(depth: int) -> str:
    return "doc: " + "[" * depth + "x" + "]" * depth + "\n"


def test_an_alias_bomb_is_refused_before_it_expands():
    with pytest.raises(InvalidPackage) as err:
        check_bounds(bomb(), "bomb.cwl")
    assert str(err.value).startswith("bomb.cwl: line ")
    assert f"would expand to more than {MAX_NODES} nodes through its YAML aliases" in str(
        err.value
    )


def test_too_many_aliases_are_refused_even_small_ones():
    text = "a: &a x\nb: [" + ", ".join(["*a"] * (MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(InvalidPackage, match=f"app.cwl: line 2: more than {MAX_ALIASES} YAML "
                       r"aliases \(\*a\)"):
        check_bounds(text, "app.cwl")


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_deeper_than_the_cap_is_refused(style):
    depth = MAX_DEPTH + 1
    if style == "flow":
        text = nested(depth)
    else:
        text = "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + "  " * depth + "v\n"
    with pytest.raises(InvalidPackage, match=f"deep.cwl: line \\d+: nested deeper than "
                       f"{MAX_DEPTH} levels"):
        check_bounds(text, "deep.cwl")


def test_a_package_within_bounds_passes():
    check_bounds(bomb(levels=3, width=3), "small.cwl")  # 9 aliases, a few dozen nodes
    check_bounds(nested(MAX_DEPTH - 1), "deep-enough.cwl")
    check_bounds('{"cwlVersion": "v1.2", "class": "CommandLineTool"}', "json.cwl")


def test_text_that_is_not_yaml_is_left_to_the_loader():
    check_bounds("key: [unclosed\n", "broken.cwl")
