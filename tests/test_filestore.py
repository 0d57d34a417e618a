"""The file store (crm/filestore.py): content-addressed, atomic, private, capped, with safe names."""
import hashlib
import stat
from concurrent.futures import ThreadPoolExecutor

import pytest

from crm.errors import NotFound, ValidationError
from crm.filestore import FileStore, display_name
from crm.settings import Settings

pytestmark = pytest.mark.database_free

PDF = b"%PDF-1.7 a small document"


@pytest.fixture
def store(tmp_path) -> FileStore:
    return FileStore(tmp_path / "files", max_bytes=1000)


def stored_files(store: FileStore) -> list:
    return sorted(path for path in store.root.rglob("*") if path.is_file())


def test_a_file_is_kept_under_the_sha256_of_its_bytes(store):
    stored = store.put(PDF, "PR2611-00001.pdf")
    digest = hashlib.sha256(PDF).hexdigest()
    assert (stored.sha256, stored.name, stored.size) == (digest, "PR2611-00001.pdf", len(PDF))
    assert store.path(digest) == store.root / digest[:2] / digest
    assert store.read(digest) == PDF
    assert stored_files(store) == [store.path(digest)]


def test_putting_equal_content_again_keeps_one_file_and_leaves_it_untouched(store):
    first = store.put(PDF, "quote.pdf")
    written_at = store.path(first.sha256).stat().st_mtime_ns
    again = store.put(PDF, "the same quote, renamed.pdf")
    assert again.sha256 == first.sha256
    assert again.name == "the same quote, renamed.pdf"
    assert store.path(first.sha256).stat().st_mtime_ns == written_at
    assert stored_files(store) == [store.path(first.sha256)]


def test_processes_storing_the_same_content_at_once_leave_one_whole_file(store):
    data = bytes(range(256)) * 3
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda number: store.put(data, f"copy {number}.bin"), range(32)))
    assert {result.sha256 for result in results} == {hashlib.sha256(data).hexdigest()}
    assert [path.read_bytes() for path in stored_files(store)] == [data]  # no temporary file left behind


def test_files_and_their_folders_are_readable_by_their_owner_only(store):
    stored = store.put(PDF, "quote.pdf")
    path = store.path(stored.sha256)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


def test_a_file_over_the_limit_is_refused_naming_the_file_and_the_limit(tmp_path):
    store = FileStore(tmp_path / "files", max_bytes=2 * 1024 * 1024)
    assert store.put(b"x" * (2 * 1024 * 1024), "exactly the limit.bin").size == 2 * 1024 * 1024
    with pytest.raises(ValidationError) as refused:
        store.put(b"x" * (3 * 1024 * 1024 + 100), "../scans/big scan.pdf")
    assert refused.value.field == "file"
    assert str(refused.value) == "big scan.pdf is 3 MB, larger than the 2 MB a file may be (CRM_FILE_MAX_MB)."
    assert len(stored_files(store)) == 1


def test_the_store_of_the_settings_lives_in_data_dir_and_takes_crm_file_max_mb(tmp_path):
    store = FileStore.for_settings(Settings(data_dir=tmp_path / "data", file_max_mb=3))
    assert (store.root, store.max_bytes) == (tmp_path / "data" / "files", 3 * 1024 * 1024)


@pytest.mark.parametrize("key", [
    "../../etc/passwd",
    "g" * 64,  # 64 characters, not hex
    "AB" * 32,  # what we never write: keys are lowercase
    "0" * 63,
    "0" * 65,
    "0" * 64 + "\n",
    "",
    None,
])
def test_a_key_that_is_not_a_sha256_is_refused(store, key):
    with pytest.raises(ValidationError):
        store.path(key)
    with pytest.raises(ValidationError):
        store.read(key)


def test_reading_a_file_that_is_not_there_says_so(store):
    with pytest.raises(NotFound, match="no longer in the store"):
        store.read("0" * 64)


@pytest.mark.parametrize("given, shown", [
    ("Devis été 2026.pdf", "Devis été 2026.pdf"),
    ("договор №5.pdf", "договор №5.pdf"),
    ("見積書.pdf", "見積書.pdf"),
    ("../../etc/passwd", "passwd"),
    ("C:\\Users\\jane\\report.pdf", "report.pdf"),
    ("a\x00b", "ab"),
    ("line\nbreak\ttab.txt", "line break tab.txt"),
    ("invoice\u202etxt.exe", "invoicetxt.exe"),  # no right-to-left override to disguise the extension
    ("..", "file"),
    ("../..", "file"),
    (".bashrc", "bashrc"),
    ("   ", "file"),
    ("", "file"),
    ('what?<>:"|*;.pdf', "what________.pdf"),
])
def test_display_names_are_sanitized(given, shown):
    assert display_name(given) == shown


def test_a_long_name_is_cut_keeping_its_extension():
    name = display_name("é" * 300 + ".pdf")
    assert len(name) == 180
    assert name == "é" * 176 + ".pdf"
    assert display_name("x" * 300) == "x" * 180


def test_the_store_keeps_the_sanitized_name(store):
    assert store.put(PDF, "../../etc/passwd").name == "passwd"
    assert store.put(PDF, "").name == "file"
