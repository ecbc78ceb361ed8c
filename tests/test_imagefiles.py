"""Reading an archive or folder safely: cleaned names, the byte budget, the top folder, the CSV's encoding."""

import io
import zipfile

import pytest

from mlc import imagefiles
from mlc.imagefiles import ImageSetError, MemberError, clean_path, csv_text, list_entries, open_source
from mlc.states import ProblemKind, Severity


def make_zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@pytest.mark.parametrize(
    "name, clean",
    [
        ("a.jpg", "a.jpg"),
        ("./cat//a.jpg", "cat/a.jpg"),
        ("cat\\a.jpg", "cat/a.jpg"),
        ("../a.jpg", None),
        ("cat/../../a.jpg", None),
        ("/etc/a.jpg", None),
        ("C:\\x\\a.jpg", None),
        ("", None),
    ],
)
def test_clean_path(name, clean):
    assert clean_path(name) == clean


def test_the_budget_is_counted_while_reading():
    store = open_source(make_zip({"a": b"x" * 700_000, "b": b"y" * 700_000}), imagefiles.MiB)[0]()
    list_entries(store, [], 10 * imagefiles.MiB, 10)  # a generous declared-size check
    store.limit = imagefiles.MiB
    assert len(store.read("a", most=1000)) <= 1000 + (1 << 16)  # a capped read stops early
    assert len(store.read("a")) == 700_000
    with pytest.raises(ImageSetError, match="unpacks to more than 1 MB"):
        store.read("b")


def test_junk_is_counted_and_one_top_folder_is_stepped_into():
    store = open_source(make_zip({"set/cat/a.png": b"", "__MACOSX/set/._a.png": b"", "set/.DS_Store": b""}), 10**6)[0]()
    entries, ignored = list_entries(store, [], 10**6, 10)
    assert entries == ["cat/a.png"] and ignored == 2 and store.has("cat/a.png")


def test_a_member_that_cannot_be_read_is_a_member_error():
    store = open_source(make_zip({"a.png": b"abc"}), 10**6)[0]()
    store.names["a.png"].CRC ^= 1  # a damaged archive
    with pytest.raises(MemberError, match="cannot be read"):
        store.read("a.png")


def test_csv_text_encodings():
    problems = []
    assert csv_text("\ufeffpath".encode(), "labels.csv", problems) == "path"
    assert csv_text("path,é".encode("utf-16"), "labels.csv", problems) == "path,é"
    assert not problems
    assert csv_text("path,é".encode("cp1252"), "labels.csv", problems) == "path,é"
    assert csv_text(b"path,\x81", "labels.csv", problems) == "path,\x81"  # cp1252's holes: Latin-1
    assert [(p.kind, p.severity) for p in problems] == [(ProblemKind.ENCODING, Severity.WARNING)] * 2
