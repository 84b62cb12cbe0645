"""The object-class lexicon: the words of COCO's classes, and which of a user's labels are classes."""

from __future__ import annotations

import pytest

from reamo.tools.vision.classes import (
    CLASS_WORDS,
    COCO_VOCABULARY,
    OPEN_VOCABULARY,
    coco_lexicon,
    is_named_entity_type,
    label_for_class,
    object_labels,
    plural,
)
from reamo.tools.vision.detector import COCO_LABELS
from reamo.tools.vision.phrases import OVERRIDES


def test_the_table_lists_the_detectors_classes() -> None:
    assert list(CLASS_WORDS) == list(COCO_LABELS)


@pytest.mark.parametrize(
    ("word", "many"),
    [
        ("dog", "dogs"),
        ("puppy", "puppies"),
        ("bus", "buses"),
        ("wine glass", "wine glasses"),
        ("knife", "knives"),
        ("person", "people"),
        ("sheep", "sheep"),
        ("toy", "toys"),
        ("skis", "skis"),
    ],
)
def test_plurals(word: str, many: str) -> None:
    assert plural(word) == many


@pytest.mark.parametrize(
    ("words", "cls"),
    [
        ("dog", "dog"),
        ("Dogs", "dog"),
        ("puppies", "dog"),
        ("hound", "dog"),
        ("women", "person"),
        ("kids", "person"),
        ("hot-dogs", "hot dog"),
        ("Traffic_Light", "traffic light"),
        ("mice", "mouse"),
        ("cattle", "cow"),
        ("sofa", "couch"),
        ("golden", None),
        ("a", None),
        ("lion", None),
    ],
)
def test_words_name_classes(words: str, cls: str | None) -> None:
    assert coco_lexicon().class_of(words) == cls


def test_mentions_are_whole_words_longest_first() -> None:
    text = "A golden retriever and two puppies chase hot dogs past a dogged cow; Cattle graze."
    found = [(m.text, m.cls) for m in coco_lexicon().mentions(text)]
    assert found == [
        ("golden retriever", "dog"),
        ("puppies", "dog"),
        ("hot dogs", "hot dog"),
        ("cow", "cow"),
        ("Cattle", "cow"),
    ]
    for m in coco_lexicon().mentions(text):
        assert text[m.start : m.end] == m.text
    assert [m.text for m in coco_lexicon().mentions(text, ["cow"])] == ["cow", "Cattle"]
    # words of a form are joined by spaces or hyphens, not across punctuation
    assert [m.cls for m in coco_lexicon().mentions("the hot, dog")] == ["dog"]


def test_a_users_labels_split_into_entity_types_object_classes_and_text_types() -> None:
    labels = ["person", "location", "organization", "miscellaneous", "Dogs", "giraffe", "car", "lion", "sofa"]
    assert object_labels(labels) == {"Dogs": "dog", "giraffe": "giraffe", "car": "car", "sofa": "couch"}
    # an open-vocabulary detector takes the label's words: lion is something it can look for
    assert object_labels(labels, OPEN_VOCABULARY)["lion"] == "lion"
    assert "person" not in object_labels(labels, OPEN_VOCABULARY)
    assert COCO_VOCABULARY.detector_class("lion") is None
    assert is_named_entity_type("Organisation")
    assert not is_named_entity_type("dog")


def test_label_for_a_class_prefers_the_label_naming_the_class_itself() -> None:
    assert label_for_class("dog", ["person", "puppy", "dog"]) == "dog"
    assert label_for_class("dog", ["person", "puppies"]) == "puppies"
    assert label_for_class("person", ["person", "dog"]) is None  # person is a named-entity type
    assert label_for_class("cat", ["dog"]) is None


def test_the_phrase_mapper_reads_the_same_synonyms() -> None:
    for form, cls in coco_lexicon().synonyms().items():
        assert OVERRIDES[form] == cls or form == "soccer"
