"""Tests for remixer_app.core.export: formats, the 16-bit rule and atomic writing."""

from __future__ import annotations

import errno
import os
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from remixer_app.core import export
from remixer_app.core.atomic import atomic_write, check_target
from remixer_app.core.errors import ExportError
from remixer_app.core.export import DEFAULT_EXPORT_RATE, DEFAULT_SUBTYPE, write_audio

RATE = DEFAULT_EXPORT_RATE


def noise(n: int = 4000, channels: int = 2, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, channels)).astype(np.float32)


def no_temp_files(folder: Path) -> bool:
    return not list(folder.glob("*.part"))


def test_constants() -> None:
    assert DEFAULT_EXPORT_RATE == 32000 and DEFAULT_SUBTYPE == "PCM_16"


def test_flac_pcm16_matches_int16_rule(tmp_path: Path) -> None:
    x = noise()
    # Edges of the rule: clipping at both ends and truncation toward zero.
    x[:6, 0] = [1.0, -1.0, 1.5, -1.5, 1.5 / 32768, -1.5 / 32768]
    out = write_audio(tmp_path / "o.flac", x, RATE)
    assert out == tmp_path / "o.flac"
    info = sf.info(out)
    assert (info.format, info.subtype, info.samplerate) == ("FLAC", "PCM_16", RATE)
    written, _ = sf.read(out, dtype="int16")
    expected = np.clip(x * 32768.0, -32768, 32767).astype(np.int16)
    np.testing.assert_array_equal(written, expected)
    assert list(written[:6, 0]) == [32767, -32768, 32767, -32768, 1, -1]


def test_float64_input_gives_same_pcm16(tmp_path: Path) -> None:
    x = noise(seed=3)
    write_audio(tmp_path / "a.wav", x, RATE)
    write_audio(tmp_path / "b.wav", x.astype(np.float64), RATE)
    a, _ = sf.read(tmp_path / "a.wav", dtype="int16")
    b, _ = sf.read(tmp_path / "b.wav", dtype="int16")
    np.testing.assert_array_equal(a, b)


def test_wav_float_round_trip(tmp_path: Path) -> None:
    x = noise(seed=1) * 1.3  # FLOAT keeps values beyond full scale
    write_audio(tmp_path / "f.wav", x, 44100, subtype="FLOAT")
    assert sf.info(tmp_path / "f.wav").subtype == "FLOAT"
    back, rate = sf.read(tmp_path / "f.wav", dtype="float32")
    assert rate == 44100
    np.testing.assert_array_equal(back, x)


def test_pcm24_and_mono(tmp_path: Path) -> None:
    x = noise(channels=1, seed=2)[:, 0] * 0.9
    write_audio(tmp_path / "m.flac", x, RATE, subtype="PCM_24")
    assert sf.info(tmp_path / "m.flac").subtype == "PCM_24"
    back, _ = sf.read(tmp_path / "m.flac", dtype="float32")
    np.testing.assert_allclose(back, x, atol=2.0**-22)


@pytest.mark.parametrize("name, kwargs, message", [
    ("o.mp3", {}, r"\.flac or \.wav"),
    ("o.flac", {"subtype": "FLOAT"}, "FLAC cannot store floating-point"),
    ("o.wav", {"subtype": "PCM_8"}, "unknown sample format"),
])
def test_bad_format_requests(tmp_path: Path, name: str, kwargs: dict, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        write_audio(tmp_path / name, noise(), RATE, **kwargs)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_refused(tmp_path: Path, bad: float) -> None:
    x = noise()
    x[5, 1] = bad
    with pytest.raises(ExportError, match="NaN or infinite"):
        write_audio(tmp_path / "o.wav", x, RATE)
    assert not list(tmp_path.iterdir())


def test_empty_and_bad_shapes_refused(tmp_path: Path) -> None:
    with pytest.raises(ExportError):
        write_audio(tmp_path / "o.wav", np.zeros((0, 2), np.float32), RATE)
    with pytest.raises(ExportError):
        write_audio(tmp_path / "o.wav", np.zeros((2, 2, 2), np.float32), RATE)
    with pytest.raises(ExportError, match="floating point"):
        write_audio(tmp_path / "o.wav", np.zeros((10, 2), np.int16), RATE)


def test_refuses_overwrite_unless_asked(tmp_path: Path) -> None:
    target = tmp_path / "o.flac"
    target.write_bytes(b"precious")
    with pytest.raises(ExportError, match="already exists"):
        write_audio(target, noise(), RATE)
    assert target.read_bytes() == b"precious"
    write_audio(target, noise(), RATE, overwrite=True)
    assert sf.info(target).frames == 4000
    assert no_temp_files(tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="does not exist"):
        write_audio(tmp_path / "nope" / "o.wav", noise(), RATE)


def test_disk_full_leaves_old_file_and_no_temp(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "o.wav"
    target.write_bytes(b"old contents")

    def failing_write(file, data, *args, **kwargs) -> None:
        file.write(b"RIFF partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sf, "write", failing_write)
    with pytest.raises(ExportError, match="disk space"):
        write_audio(target, noise(), RATE, overwrite=True)
    assert target.read_bytes() == b"old contents"
    assert no_temp_files(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["o.wav"]


def test_library_error_becomes_export_error(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_write(file, data, *args, **kwargs) -> None:
        file.write(b"partial")
        raise RuntimeError(f"Error opening {file!r}: unsupported channel count")

    monkeypatch.setattr(sf, "write", failing_write)
    with pytest.raises(ExportError) as caught:
        write_audio(tmp_path / "o.flac", noise(), RATE)
    # The message names the file the user asked for, not the temporary one.
    assert str(caught.value) == (f"cannot write {tmp_path / 'o.flac'}: Error opening it: "
                                 "unsupported channel count")
    assert not list(tmp_path.iterdir())


@pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs POSIX file-size limits")
def test_a_failed_write_names_the_systems_reason(tmp_path: Path) -> None:
    # libsndfile says "System error." for any failed write; the user needs the reason
    # (a quota, a file-size limit, an I/O error) and the old file kept.
    target = tmp_path / "o.wav"
    target.write_bytes(b"old contents")
    script = (
        "import resource, signal, sys\n"
        "import numpy as np\n"
        "from remixer_app.core.errors import ExportError\n"
        "from remixer_app.core.export import write_audio\n"
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))\n"
        "try:\n"
        "    write_audio(sys.argv[1], np.full((RATE, 2), 0.1), RATE, overwrite=True)\n"
        "except ExportError as exc:\n"
        "    print(exc)\n").replace("RATE", str(RATE))
    run = subprocess.run([sys.executable, "-c", script, str(target)], capture_output=True,
                         text=True, timeout=120, check=True)
    assert run.stdout.strip() == f"cannot write {target}: {os.strerror(errno.EFBIG)}"
    assert target.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["o.wav"]


@pytest.mark.parametrize("rate", [7999, 384001])
def test_sample_rates_outside_what_is_written_are_refused(tmp_path: Path, rate: int) -> None:
    with pytest.raises(ExportError, match="8000 to 384000 Hz"):
        write_audio(tmp_path / "o.wav", noise(), rate)
    assert not list(tmp_path.iterdir())


def test_written_files_get_ordinary_permissions(tmp_path: Path) -> None:
    import os
    import stat

    path = write_audio(tmp_path / "perm.wav", np.zeros((100, 2)), 44100)
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask


@pytest.mark.skipif(os.name == "nt", reason="POSIX permission bits")
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664], ids=oct)
def test_a_replaced_file_keeps_its_permissions(tmp_path: Path, mode: int) -> None:
    target = tmp_path / "private.csv"
    target.write_text("old\n")
    os.chmod(target, mode)  # a private file must not become world-readable
    atomic_write(target, lambda tmp: tmp.write_text("new\n"), overwrite=True)
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == mode


@pytest.mark.parametrize("code", [errno.EACCES, errno.EPERM, errno.EROFS])
def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path, code: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # Root ignores permissions, so the refusal is simulated where the temporary file is made.
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(ExportError) as caught:
        write_audio(tmp_path / "o.wav", noise(), RATE)
    assert str(caught.value) == (f"cannot write {tmp_path / 'o.wav'}: the folder {tmp_path} "
                                 "is not writable")


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_folder_that_cannot_be_written_is_found_before_any_work(tmp_path: Path) -> None:
    # /proc refuses new files even to root, as a read-only mount or folder does to users.
    with pytest.raises(ExportError, match="the folder /proc is not writable"):
        check_target("/proc/remixer-test.wav")
    assert check_target(tmp_path / "fine.wav") == tmp_path / "fine.wav"
    assert not [p for p in tmp_path.iterdir()]  # the probe leaves nothing behind


def test_a_folder_is_no_target_even_with_overwrite(tmp_path: Path) -> None:
    (tmp_path / "out.csv").mkdir()
    with pytest.raises(ExportError, match="is a folder; give a file name"):
        check_target(tmp_path / "out.csv", overwrite=True)


def _create_meanwhile(target: Path) -> object:
    """A ``write`` that also creates ``target``, as another program could meanwhile."""
    def write(tmp: Path) -> None:
        tmp.write_bytes(b"ours")
        target.write_bytes(b"theirs")
    return write


def test_a_file_created_meanwhile_is_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / "o.csv"
    with pytest.raises(ExportError) as caught:
        atomic_write(target, _create_meanwhile(target))
    assert str(caught.value) == (f"{target} already exists; choose another name or allow "
                                 "overwriting (--overwrite)")
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["o.csv"]


@pytest.mark.parametrize("code", [errno.EPERM, errno.ENOTSUP, errno.EXDEV],
                         ids=["EPERM", "ENOTSUP", "EXDEV"])
def test_without_hard_links_a_new_file_is_renamed_into_place(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    def no_links(*_args: object, **_kwargs: object) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "link", no_links)
    target = tmp_path / "o.csv"
    assert atomic_write(target, lambda tmp: tmp.write_bytes(b"data")) == target
    assert [p.name for p in tmp_path.iterdir()] == ["o.csv"]
    assert target.read_bytes() == b"data"
    # ... and a file that appeared meanwhile is still found by the check before the rename.
    other = tmp_path / "p.csv"
    with pytest.raises(ExportError, match="already exists"):
        atomic_write(other, _create_meanwhile(other))
    assert other.read_bytes() == b"theirs"
    assert no_temp_files(tmp_path)


@pytest.mark.parametrize("overwrite", [False, True])
def test_data_is_flushed_before_publishing_and_the_folder_after(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overwrite: bool) -> None:
    target = tmp_path / "o.csv"
    flushed: list[tuple[str, int, bool]] = []
    real_fsync = os.fsync

    def record(fd: int) -> None:
        info = os.fstat(fd)
        kind = "folder" if stat.S_ISDIR(info.st_mode) else "file"
        flushed.append((kind, info.st_size if kind == "file" else 0, target.exists()))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", record)
    atomic_write(target, lambda tmp: tmp.write_bytes(b"12345"), overwrite=overwrite)
    # The whole file while it still has its temporary name, then the folder holding it.
    assert flushed == [("file", 5, False), ("folder", 0, True)]


@pytest.mark.parametrize("subtype, limit, expected", [
    ("PCM_16", 4000 * 2 * 2, "WAV"), ("PCM_16", 4000 * 2 * 2 - 1, "RF64"),
    ("PCM_24", 4000 * 2 * 3 - 1, "RF64"), ("FLOAT", 4000 * 2 * 4, "WAV"),
])
def test_a_wav_too_big_for_its_32_bit_sizes_is_written_as_rf64(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, subtype: str, limit: int,
        expected: str) -> None:
    # Stands for 4 GiB, which a test cannot write.
    monkeypatch.setattr(export, "WAV_MAX_DATA_BYTES", limit)
    x = noise(4000) * 0.5
    out = write_audio(tmp_path / "long.wav", x, RATE, subtype=subtype)
    info = sf.info(out)
    assert (info.format, info.subtype, info.frames) == (expected, subtype, 4000)
    written, _ = sf.read(out, dtype="float32")
    np.testing.assert_allclose(written, x, atol=2**-15)


@pytest.mark.parametrize("stem", ["a" * 251, "a" + "é" * 125])
def test_the_longest_legal_name_can_be_written(tmp_path: Path, stem: str) -> None:
    out = tmp_path / f"{stem}.wav"  # 255 bytes (é is 2 bytes in UTF-8): the system's limit
    assert len(os.fsencode(out.name)) == 255
    assert write_audio(out, noise(), RATE) == out and sf.info(out).frames == 4000
    assert no_temp_files(tmp_path)
