"""The sentence-embedding featurizer (bot/components/sentence_featurizer.py) on real
messages: shapes the classifiers need, paraphrases close, one encoding shared."""

from __future__ import annotations

import numpy as np
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot import embeddings
from bot.components.sentence_featurizer import SentenceEmbeddingFeaturizer


def _message(text: str) -> Message:
    message = Message(data={TEXT: text})
    tokens, pos = [], 0
    for word in text.split():
        start = text.index(word, pos)
        tokens.append(Token(word, start))
        pos = start + len(word)
    message.set(TOKENS_NAMES[TEXT], tokens)
    return message


def _featurizer() -> SentenceEmbeddingFeaturizer:
    config = {**SentenceEmbeddingFeaturizer.get_default_config(), "alias": "sentence"}
    return SentenceEmbeddingFeaturizer(config, "sentence_featurizer")


def test_each_message_gets_a_sentence_vector_and_one_per_token():
    message = _message("is klonopin addictive")
    _featurizer().process([message])
    sequence, sentence = message.get_dense_features(TEXT)
    assert sequence.features.shape == (3, embeddings.DIMENSION)
    assert sentence.features.shape == (1, embeddings.DIMENSION)
    assert abs(np.linalg.norm(sentence.features[0]) - 1.0) < 1e-4
    assert np.allclose(sequence.features, sentence.features[0])


def test_a_paraphrase_in_other_words_lands_closer_than_another_topic():
    texts = [
        "does clonazepam stop the brain making its own calming chemicals",
        "does klonopin make ur brain quit producing its own gaba",
        "can i drink coffee while tapering",
    ]
    messages = [_message(t) for t in texts]
    _featurizer().process(messages)
    a, b, c = (m.get_dense_features(TEXT)[1].features[0] for m in messages)
    assert a @ b > a @ c + 0.1


def test_the_safety_screen_reuses_the_encoding():
    text = "a sentence nobody has encoded before in this test run 7f3a"
    _featurizer().process([_message(text)])
    before = embeddings.cache_info()["misses"]
    embeddings.encode_one(text)
    assert embeddings.cache_info()["misses"] == before


def test_a_message_without_text_or_tokens_is_left_alone():
    empty = Message(data={TEXT: ""})
    _featurizer().process([empty])
    assert empty.get_dense_features(TEXT) == (None, None)
