"""Hand-edited YAML files fail with the file named and the reason, never a parser traceback."""
import pytest

from cxr.core.errors import CxrError, InputError
from cxr.core.yamlio import read_yaml_mapping


class MyError(CxrError):
    pass


@pytest.mark.parametrize("text,message", [
    ("a: [1, 2\n", "invalid YAML"),
    ("- a list\n", "expected a mapping at top level"),
])
def test_bad_files_name_the_file(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(MyError, match=message) as exc:
        read_yaml_mapping(path, MyError)
    assert str(path) in str(exc.value)


def test_missing_empty_and_valid(tmp_path):
    with pytest.raises(InputError, match="prompt file not found"):
        read_yaml_mapping(tmp_path / "nope.yaml", what="prompt file")
    (tmp_path / "empty.yaml").write_text("")
    assert read_yaml_mapping(tmp_path / "empty.yaml") == {}
    (tmp_path / "ok.yaml").write_text("a: 1\nb: [x]\n")
    assert read_yaml_mapping(tmp_path / "ok.yaml") == {"a": 1, "b": ["x"]}
