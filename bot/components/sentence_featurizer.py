"""Sentence embeddings (all-MiniLM-L6-v2, bot/embeddings.py) as dense features for DIET
and the ResponseSelector.

The sparse n-gram features know the words of the training examples; a question asked in
other words ("does klonopin stop ur brain makin its own chemicals") shares few of them.
The sentence encoder places paraphrases close together, so the classifiers can answer a
wording they never saw. It is the encoder the safety screen already loads: the message is
encoded once (bot.embeddings caches by text) and the screen, later in the pipeline,
reuses the vector.

Features: the sentence vector as the sentence feature, and the same vector at every token
as the sequence feature (DIET reads sequence and sentence features side by side; the
per-token copy gives every position the meaning of the whole message without a second
pass of the encoder per token).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Text, Type

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES, FEATURIZER_CLASS_ALIAS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)
BATCH = 256  # texts per encoder call in training (memory stays flat, speed near best)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds the message's sentence embedding as dense features (see module docstring)."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {**DenseFeaturizer.get_default_config()}

    def __init__(self, config: Dict[Text, Any], name: Text) -> None:
        super().__init__(name, config)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> GraphComponent:
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Encode every featurizable attribute of the messages, in batches."""
        from bot.embeddings import encode

        for attribute in DENSE_FEATURIZABLE_ATTRIBUTES:
            todo = [m for m in messages if m.get(attribute) and m.get(TOKENS_NAMES[attribute])]
            for start in range(0, len(todo), BATCH):
                batch = todo[start : start + BATCH]
                vectors = encode([str(m.get(attribute)) for m in batch])
                for message, vector in zip(batch, vectors, strict=True):
                    self._set(message, attribute, np.asarray(vector, dtype=np.float32))
        return messages

    def _set(self, message: Message, attribute: Text, vector: np.ndarray) -> None:
        tokens = message.get(TOKENS_NAMES[attribute])
        alias = self._config[FEATURIZER_CLASS_ALIAS]
        sequence = np.repeat(vector[None, :], len(tokens), axis=0)
        message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, attribute, alias))
        message.add_features(Features(vector[None, :], FEATURE_TYPE_SENTENCE, attribute, alias))
