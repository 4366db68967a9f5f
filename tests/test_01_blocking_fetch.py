import pytest

@pytest.fixture(scope="module")
def fetch(load_lesson):
    return load_lesson(1)

@pytest.mark.exercise("1.1")
def test_request(fetch):
    assert fetch.build_request("x").startswith(b"GET / HTTP/1.1\r\n")
