"""The stub generator: what it keeps, what it replaces, and how it reports bad markers."""

import pytest

from course.stubs import StubError, make_stub

pytestmark = pytest.mark.timeout(10)

SOLUTION = '''"""Header stays."""
import socket


def add(a: int, b: int) -> int:
    """Docstring stays."""
    # EXERCISE 9.1: return the sum of a and b.
    # a comment that only the solution shows
    return a + b
    # END EXERCISE


# SOLUTION ONLY
def _helper():
    return 1
# END SOLUTION ONLY


def given() -> str:
    return "given code stays"
'''


def test_exercise_region_becomes_todo_and_raise_at_its_indentation():
    stub = make_stub(SOLUTION)
    assert '    # TODO: exercise 9.1\n    raise NotImplementedError("Exercise 9.1: return the sum of a and b.")\n' in stub
    assert "return a + b" not in stub and "only the solution shows" not in stub


def test_header_imports_docstrings_and_given_code_are_kept_verbatim():
    stub = make_stub(SOLUTION)
    for kept in ('"""Header stays."""', "import socket", '"""Docstring stays."""', 'return "given code stays"'):
        assert kept in stub


def test_solution_only_region_is_removed():
    assert "_helper" not in make_stub(SOLUTION)


def test_stub_raises_not_implemented_error_when_called():
    namespace = {}
    exec(make_stub(SOLUTION), namespace)
    with pytest.raises(NotImplementedError, match="Exercise 9.1"):
        namespace["add"](1, 2)


def test_a_sentence_with_double_quotes_still_makes_valid_python():
    source = 'def f():\n    # EXERCISE 9.2: return b"" when "done".\n    return b""\n    # END EXERCISE\n'
    namespace = {}
    exec(make_stub(source), namespace)
    with pytest.raises(NotImplementedError, match='return b"" when "done"'):
        namespace["f"]()


@pytest.mark.parametrize("source, problem", [
    pytest.param("def f():\n    # EXERCISE 9.3: x.\n    return 1\n", "never closed", id="unclosed"),
    pytest.param("def f():\n    return 1\n    # END EXERCISE\n", "wrong region", id="end-without-start"),
    pytest.param("# EXERCISE 9.4: x.\n# EXERCISE 9.5: y.\n# END EXERCISE\n", "wrong region", id="nested"),
])
def test_markers_that_do_not_pair_up_are_reported_with_their_line(source, problem):
    with pytest.raises(StubError, match=problem):
        make_stub(source, "lesson.py")
