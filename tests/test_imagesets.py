"""Own labelled images: both CSV forms, the folder form (zip and real folder), splits, and every bad case."""

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mlc import datasets, hosting, imagesets
from mlc.config import RunConfig
from mlc.imagesets import ImageSetError, problem_lines, read_image_set, training_problems
from mlc.states import ProblemKind, Severity

ROOT = Path(__file__).resolve().parents[1]
COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def png(colour=(255, 0, 0), size=(12, 8), fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, fmt)
    return buf.getvalue()


def make_zip(files: dict[str, bytes | str], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in files.items():
            z.writestr(name, data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def images(n, prefix="img") -> dict[str, bytes]:
    return {f"{prefix}{i}.png": png((i * 7 % 256, 100, 200)) for i in range(n)}


def find(problems, kind):
    return [p for p in problems if p.kind == kind]


def tags_csv(n=30):
    """``path,tags`` rows: every image 'cat', every third also 'dog', the fifth none."""
    rows = ["path,tags"] + [f"img{i}.png,{'' if i == 5 else 'cat dog' if i % 3 == 0 else 'cat'}" for i in range(n)]
    return "\n".join(rows) + "\n"


# ---------------------------------------------------------------- the layouts
def test_a_csv_with_a_tags_column():
    s = read_image_set(make_zip({"labels.csv": tags_csv(), **images(30)}), name="pets", image_size=16)
    assert s.name == "pets" and s.tags == ("cat", "dog") and len(s) == 30
    assert s.images.shape == (30, 16, 16, 3) and s.images.dtype == np.uint8
    assert s.labels.dtype == np.float32 and s.labels.shape == (30, 2)
    assert s.labels[list(s.paths).index("img3.png")].tolist() == [1.0, 1.0]
    assert s.labels[list(s.paths).index("img5.png")].tolist() == [0.0, 0.0]
    assert set(s.split) <= {"train", "val", "test"} and (s.split == "train").sum() == 21
    assert len(s.fingerprint) == 16 and not find(s.problems, ProblemKind.MISSING_IMAGE)


@pytest.mark.parametrize("sep", [" ", ",", ";", "|", " ; "])
def test_tags_may_be_separated_by_spaces_commas_semicolons_or_bars(sep):
    csv = f'path,tags\na.png,"cat{sep}dog"\nb.png,sky\n'
    s = read_image_set(make_zip({"labels.csv": csv, "a.png": png(), "b.png": png()}))
    assert s.tags == ("cat", "dog", "sky")
    assert s.labels.tolist() == [[1, 1, 0], [0, 0, 1]]


def test_unquoted_comma_separated_tags_in_the_last_column_are_all_kept():
    s = read_image_set(
        make_zip({"labels.csv": "path,tags\na.png,cat,dog\nb.png,sky\n", "a.png": png(), "b.png": png()})
    )
    assert s.tags == ("cat", "dog", "sky") and s.labels.tolist() == [[1, 1, 0], [0, 0, 1]]


def test_a_csv_with_one_01_column_per_tag_also_true_false():
    csv = "file,cat,dog,\na.png,1,0,\nb.png,true,TRUE\nc.png,0,false\nd.png,2,1\ne.png,0,maybe\n"
    files = {"data.csv": csv, **{f"{c}.png": png() for c in "abcde"}}
    s = read_image_set(make_zip(files))
    assert s.tags == ("cat", "dog") and list(s.paths) == ["a.png", "b.png", "c.png"]
    assert s.labels.tolist() == [[1, 0], [1, 1], [0, 0]]
    unknown = find(s.problems, ProblemKind.UNKNOWN_VALUE)
    assert [(p.where, p.severity) for p in unknown] == [("row 5", Severity.ERROR), ("row 6", Severity.ERROR)]
    assert "cat='2'" in unknown[0].message and "dog='maybe'" in unknown[1].message


def test_one_folder_per_tag_as_a_zip_and_as_a_real_folder(tmp_path):
    files = {
        "cat/a.png": png(COLOURS["red"]),
        "dog/a.png": png(COLOURS["red"]),  # the same name: one image with two tags
        "cat/b.png": png(COLOURS["green"]),
        "_none/c.png": png(COLOURS["blue"]),
        "dog/notes.txt": b"not an image",
    }
    s = read_image_set(make_zip(files), image_size=16)
    assert s.tags == ("cat", "dog") and sorted(s.paths) == ["a.png", "b.png", "c.png"]
    by_path = dict(zip(s.paths, s.labels.tolist()))
    assert by_path == {"a.png": [1, 1], "b.png": [1, 0], "c.png": [0, 0]}
    assert s.ignored == 1
    for name, data in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    f = read_image_set(tmp_path, image_size=16)
    assert f.name == tmp_path.name and f.tags == s.tags and f.fingerprint == s.fingerprint
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # never changed


def test_a_zip_whose_entries_sit_under_one_top_folder(tmp_path):
    s = read_image_set(make_zip({"holiday/labels.csv": "path,tags\na.png,sea\n", "holiday/a.png": png()}))
    assert list(s.paths) == ["a.png"] and s.tags == ("sea",)
    f = read_image_set(make_zip({"photos/cat/a.png": png(), "photos/dog/b.png": png()}))
    assert f.tags == ("cat", "dog")
    (tmp_path / "cats.zip").write_bytes(make_zip({"cat/a.png": png(), "cat/b.png": png()}))
    one = read_image_set(tmp_path / "cats.zip")  # the only tag folder is a tag, not a top folder
    assert one.name == "cats" and one.tags == ("cat",) and len(one) == 2


def test_a_split_column_fixes_the_split_and_a_bad_value_is_a_warning():
    csv = "path,tags,split\na.png,x,test\nb.png,x,val\nc.png,x,train\nd.png,x,validation\ne.png,x,later\n"
    s = read_image_set(make_zip({"labels.csv": csv, **{f"{c}.png": png() for c in "abcde"}}))
    assert dict(zip(s.paths, s.split))["a.png"] == "test"
    assert [dict(zip(s.paths, s.split))[p] for p in ("b.png", "c.png", "d.png")] == ["val", "train", "val"]
    (bad,) = find(s.problems, ProblemKind.UNKNOWN_VALUE)
    assert bad.where == "row 6" and bad.severity == Severity.WARNING and "e.png" in s.paths


def test_a_csv_with_a_bom_and_one_in_windows_1252():
    files = {"a.png": png(), "b.png": png()}
    bom = read_image_set(make_zip({"labels.csv": "\ufeffpath,tags\na.png,café\nb.png,x\n".encode(), **files}))
    assert bom.tags == ("café", "x") and not find(bom.problems, ProblemKind.ENCODING)
    latin = read_image_set(make_zip({"labels.csv": "path,tags\na.png,café\nb.png,x\n".encode("cp1252"), **files}))
    assert latin.tags == ("café", "x")
    (line,) = find(latin.problems, ProblemKind.ENCODING)
    assert line.where == "labels.csv" and line.severity == Severity.WARNING and "Windows-1252" in line.message


# ---------------------------------------------------------------- bad data: a list, not a crash
def test_bad_rows_and_files_are_listed_with_their_row_or_path():
    csv = (
        "path,tags\na.png,cat\nmissing.png,cat\nbroken.png,cat\na.png,dog\n../up.png,cat\n/etc/abs.png,cat\n"
        ",cat\nb.png,dog\n"
    )
    files = {"labels.csv": csv, "a.png": png(), "b.png": png(), "broken.png": png()[:40], "readme.txt": "hi"}
    s = read_image_set(make_zip(files))
    assert list(s.paths) == ["a.png", "b.png"]  # everything usable is used
    got = {(p.kind, p.where) for p in s.problems if p.severity == Severity.ERROR}
    assert got == {
        (ProblemKind.MISSING_IMAGE, "row 3"),
        (ProblemKind.UNREADABLE_IMAGE, "row 4"),
        (ProblemKind.DUPLICATE_PATH, "row 5"),
        (ProblemKind.UNSAFE_PATH, "row 6"),
        (ProblemKind.UNSAFE_PATH, "row 7"),
        (ProblemKind.MISSING_IMAGE, "row 8"),
    }
    assert s.ignored == 1  # readme.txt


def test_images_the_csv_does_not_name_are_one_warning():
    s = read_image_set(make_zip({"labels.csv": "path,tags\na.png,x\nb.png,x\n", **images(4), "a.png": png()}))
    (extra,) = [p for p in s.problems if p.kind == ProblemKind.LAYOUT]
    assert extra.severity == Severity.WARNING and extra.message.startswith("4 image(s) not listed in the CSV (img0.png")


def test_windows_style_member_names_are_read_again_at_another_size():
    s = read_image_set(make_zip({"set\\cat\\a.png": png(), "set/./dog/b.png": png()}), image_size=16)
    assert s.tags == ("cat", "dog") and sorted(s.paths) == ["a.png", "b.png"]
    assert s.images_at(20).shape == (2, 20, 20, 3)


def test_an_image_changed_on_disk_is_not_mixed_into_another_size(tmp_path):
    (tmp_path / "cat").mkdir()
    for i in range(3):
        (tmp_path / "cat" / f"{i}.png").write_bytes(png((i, 0, 0)))
    s = read_image_set(tmp_path, image_size=16)
    assert s.images_at(20).shape == (3, 20, 20, 3)
    (tmp_path / "cat" / "1.png").write_bytes(png((200, 0, 0)))
    with pytest.raises(ValueError, match="cat/1.png changed since the images were read"):
        s.images_at(24)
    assert s.images_at(16) is s.images
    (tmp_path / "cat" / "1.png").unlink()
    with pytest.raises(ValueError, match="cat/1.png cannot be read"):
        s.images_at(24)


def test_members_escaping_the_archive_and_nested_archives_are_refused_with_a_line():
    inner = make_zip({"cat/x.png": png()})
    files = {"cat/a.png": png(), "../evil/b.png": png(), "/abs/c.png": png(), "cat/more.zip": inner}
    s = read_image_set(make_zip(files))
    assert list(s.paths) == ["a.png"]
    assert {(p.kind, p.where) for p in s.problems if p.severity == Severity.ERROR} == {
        (ProblemKind.UNSAFE_PATH, "../evil/b.png"),
        (ProblemKind.UNSAFE_PATH, "/abs/c.png"),
        (ProblemKind.NESTED_ARCHIVE, "cat/more.zip"),
    }


def test_a_symlink_out_of_the_folder_is_not_followed(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png())
    root = tmp_path / "data"
    (root / "cat").mkdir(parents=True)
    (root / "cat" / "a.png").write_bytes(png())
    os.symlink(outside, root / "cat" / "b.png")
    s = read_image_set(root)
    assert list(s.paths) == ["a.png"]
    (p,) = find(s.problems, ProblemKind.UNSAFE_PATH)
    assert p.where == "cat/b.png"


def test_too_large_is_refused_by_the_archive_size_the_declared_sizes_and_while_reading(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, 600_000, dtype=np.uint8).tobytes()
    big = make_zip({f"cat/{i}.png": noise for i in range(2)}, zipfile.ZIP_STORED)
    with pytest.raises(ImageSetError) as err:
        read_image_set(big, max_mb=1)
    assert [(p.kind, p.where) for p in err.value.problems] == [(ProblemKind.TOO_LARGE, "")]
    assert "the archive is 1.1 MB" in str(err.value) and "MLC_MAX_DATASET_MB" in str(err.value)
    zeros = make_zip({f"cat/{i}.png": bytes(800_000) for i in range(2)})  # small zip, large inside
    with pytest.raises(ImageSetError, match="unpack to 1.5 MB"):
        read_image_set(zeros, max_mb=1)
    for i in range(3):  # a folder has no declared sizes: the bytes are counted as they are read
        (tmp_path / "cat").mkdir(exist_ok=True)
        (tmp_path / "cat" / f"{i}.png").write_bytes(noise)
    with pytest.raises(ImageSetError, match="unpacks to more than 1 MB") as err:
        read_image_set(tmp_path, max_mb=1)
    assert err.value.problems[0].kind == ProblemKind.TOO_LARGE


def test_a_zip_whose_directory_understates_a_size_reads_no_more_than_it_declares():
    big = io.BytesIO()
    Image.new("RGB", (1000, 1000), (9, 9, 9)).save(big, "BMP")  # 3 MB, deflates to a few KB
    data = bytearray(make_zip({"cat/a.bmp": big.getvalue(), "cat/b.png": png()}))
    for header, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central directory and local header
        struct.pack_into("<I", data, data.find(header) + offset, 1000)
    s = read_image_set(bytes(data), max_mb=1)
    assert list(s.paths) == ["b.png"]
    (bad,) = find(s.problems, ProblemKind.UNREADABLE_IMAGE)
    assert bad.where == "cat/a.bmp" and "Bad CRC-32" in bad.message


def test_an_upload_object_and_a_zip_path_name_the_set(tmp_path):
    upload = io.BytesIO(make_zip({"cat/a.png": png(), "dog/b.png": png()}))
    upload.name = "my pets.zip"
    assert read_image_set(upload).name == "my pets"
    (tmp_path / "set.zip").write_bytes(upload.getvalue())
    assert read_image_set(str(tmp_path / "set.zip")).name == "set"
    with pytest.raises(ImageSetError, match="no such file or folder"):
        read_image_set(tmp_path / "nope.zip")


def test_reading_images_imports_neither_tensorflow_nor_streamlit():
    code = (
        "import sys, mlc.imagesets, mlc.stratify; "
        "print(sorted(m for m in ('tensorflow', 'keras', 'streamlit', 'sklearn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_damaged_archives_give_problems_never_another_exception():
    """Random bytes flipped in a valid zip: every outcome is an ImageSet or an ImageSetError."""
    good = make_zip({"labels.csv": "path,cat,dog\na.png,1,0\nb.png,0,1\n", "a.png": png(), "b.png": png()})
    rng = np.random.default_rng(0)
    outcomes = set()
    for _ in range(150):
        data = bytearray(good)
        for i in rng.integers(0, len(data), size=rng.integers(1, 6)):
            data[i] = rng.integers(0, 256)
        try:
            read_image_set(bytes(data), image_size=16)
            outcomes.add("read")
        except ImageSetError as exc:
            assert exc.problems and all(isinstance(p.kind, ProblemKind) for p in exc.problems)
            outcomes.add("refused")
    assert outcomes == {"read", "refused"}


def test_too_many_images_is_refused():
    with pytest.raises(ImageSetError, match="3 images; at most 2") as err:
        read_image_set(make_zip({"labels.csv": tags_csv(3), **images(3)}), max_images=2)
    assert err.value.problems[0].kind == ProblemKind.TOO_MANY


def test_an_empty_data_set_raises_with_every_problem():
    with pytest.raises(ImageSetError) as err:
        read_image_set(make_zip({"labels.csv": "path,tags\nx.png,cat\ny.png,dog\n", "notes.txt": "x"}))
    kinds = [(p.kind, p.where) for p in err.value.problems]
    assert kinds == [
        (ProblemKind.MISSING_IMAGE, "row 2"),
        (ProblemKind.MISSING_IMAGE, "row 3"),
        (ProblemKind.EMPTY, ""),
    ]
    with pytest.raises(ImageSetError, match="no image has a tag") as err:
        read_image_set(make_zip({"labels.csv": "path,tags\na.png,\n", "a.png": png()}))
    assert err.value.problems[-1].kind == ProblemKind.EMPTY
    with pytest.raises(ImageSetError, match="not a readable .zip"):
        read_image_set(b"this is no zip")


def test_several_csvs_name_them_and_a_csv_without_columns_is_refused():
    with pytest.raises(ImageSetError, match=r"several CSV files \(a.csv, b.csv\)"):
        read_image_set(make_zip({"a.csv": "path,tags\n", "b.csv": "path,tags\n", "x.png": png()}))
    s = read_image_set(make_zip({"a.csv": "x", "labels.csv": "path,tags\nx.png,t\n", "x.png": png()}))
    assert s.tags == ("t",)  # labels.csv wins
    with pytest.raises(ImageSetError, match="needs a header"):
        read_image_set(make_zip({"labels.csv": "just paths\nx.png\n", "x.png": png()}))


def test_images_outside_tag_folders_and_under_none_and_a_tag():
    s = read_image_set(make_zip({"loose.png": png(), "cat/a.png": png(), "_none/a.png": png()}))
    assert list(s.paths) == ["a.png"] and s.labels.tolist() == [[1.0]]
    assert {(p.kind, p.where) for p in s.problems if p.kind != ProblemKind.FEW_POSITIVES} == {
        (ProblemKind.LAYOUT, "loose.png"),
        (ProblemKind.DUPLICATE_PATH, "_none/a.png"),
    }


def test_a_tag_without_training_positives_is_refused_and_few_validation_positives_warned():
    csv = "path,cat,dog\n" + "".join(f"img{i}.png,1,0\n" for i in range(20))
    s = read_image_set(make_zip({"labels.csv": csv, **images(20)}))
    assert training_problems(s) == ["no training image has the tag dog: add some, or leave the tag out"]
    assert training_problems(s, ["cat"]) == []
    assert training_problems(s, ["bird"])[0].startswith("classes: 'bird' is not a tag")
    few = {p.where: p for p in find(s.problems, ProblemKind.FEW_POSITIVES)}
    assert set(few) == {"cat", "dog"} and few["cat"].severity == Severity.WARNING
    assert "only 3 validation image(s)" in few["cat"].message


def test_problem_lines_show_twenty_then_a_count():
    rows = [
        imagesets.DataProblem(ProblemKind.MISSING_IMAGE, f"row {i}", "x.png is not in the archive") for i in range(25)
    ]
    lines = problem_lines(rows)
    assert len(lines) == 21 and lines[0] == "error: row 0: x.png is not in the archive" and lines[-1] == "… and 5 more"


# ---------------------------------------------------------------- using it
def test_config_for_and_splits_at_the_config_size_for_chosen_tags(tmp_path):
    s = read_image_set(make_zip({"labels.csv": tags_csv(40), **images(40)}), name="pets", image_size=16)
    cfg = s.config_for(RunConfig(image_size=16, epochs=2))
    assert (cfg.dataset, cfg.classes, cfg.data_name, cfg.data_fingerprint) == (
        "own",
        ("cat", "dog"),
        "pets",
        s.fingerprint,
    )
    assert (cfg.train_size, cfg.val_size, cfg.test_size) == (28, 6, 6) and cfg.epochs == 2
    assert cfg.prevalence == (round(39 / 40, 4), round(14 / 40, 4))
    splits = datasets.make_splits(cfg.replace(classes=("dog", "cat")), s)
    (xt, yt), (xv, yv) = splits.train, splits.val
    assert yv.shape == (6, 2)
    assert xt.shape == (28, 16, 16, 3) and xt.dtype == np.uint8 and xv.dtype == np.float32 and xv.max() <= 1.0
    assert yt.shape == (28, 2) and splits.classes == ("dog", "cat") and splits.dataset == "own"
    assert yt[:, 1].sum() == s.labels[s.split == "train", 0].sum()  # reordered columns
    bigger = s.splits(cfg.replace(image_size=24))  # decoded again from the source
    assert bigger.test[0].shape == (6, 24, 24, 3)
    np.testing.assert_allclose(bigger.test[0][0, 0, 0], s.images[s.split == "test"][0, 0, 0] / 255, atol=0.02)
    other = read_image_set(make_zip({"labels.csv": tags_csv(41), **images(41)}))
    with pytest.raises(ValueError, match="are not the ones this config was made for"):
        datasets.make_splits(cfg, other)


def test_config_for_refuses_an_empty_split_in_words():
    s = read_image_set(
        make_zip(
            {
                "labels.csv": "path,tags,split\na.png,x,train\nb.png,x,test\n",
                **images(0),
                "a.png": png(),
                "b.png": png(),
            }
        )
    )
    assert training_problems(s) == ["no validation images; add images or fix the split"]
    with pytest.raises(ValueError, match="no validation images"):
        s.config_for(RunConfig())


def test_an_image_set_survives_pickling_to_a_worker_process(tmp_path):
    """The worker pool sends the set with the run: it must pickle, and still decode at another size."""
    up = read_image_set(make_zip({"labels.csv": tags_csv(20), **images(20)}), image_size=16)
    (tmp_path / "cat").mkdir()
    (tmp_path / "cat" / "a.png").write_bytes(png())
    for s in (up, read_image_set(tmp_path, image_size=16)):
        back = pickle.loads(pickle.dumps(s))
        assert back.fingerprint == s.fingerprint and (back.images == s.images).all()
        assert (back.images_at(24) == s.images_at(24)).all()


def test_sample_gives_images_and_their_tag_lists():
    s = read_image_set(make_zip({"labels.csv": tags_csv(40), **images(40)}), image_size=16)
    x, tags = s.sample(4, split="test", seed=1)
    assert x.shape == (4, 16, 16, 3) and len(tags) == 4 and all(set(t) <= {"cat", "dog"} for t in tags)
    assert s.sample(100, split="val")[0].shape[0] == 6


def test_the_fingerprint_follows_the_images_and_labels_not_the_container():
    files = {"labels.csv": tags_csv(12), **images(12)}
    a = read_image_set(make_zip(files)).fingerprint
    assert read_image_set(make_zip(dict(reversed(files.items())))).fingerprint == a
    assert read_image_set(make_zip({**files, "img0.png": png((1, 2, 3))})).fingerprint != a
    assert (
        read_image_set(make_zip({**files, "labels.csv": tags_csv(12).replace("img1.png,cat", "img1.png,")})).fingerprint
        != a
    )


def test_the_limits_are_host_settings():
    s = hosting.settings_from({"MLC_MAX_DATASET_MB": "50", "MLC_MAX_DATASET_IMAGES": "300"})
    assert (s.max_dataset_mb, s.max_dataset_images) == (50, 300)
    assert (hosting.HostSettings().max_dataset_mb, hosting.HostSettings().max_dataset_images) == (
        imagesets.MAX_MB,
        imagesets.MAX_IMAGES,
    )
