"""The source paper's REAMO numbers, printed beside ours where a suite matches one of its test sets.

Zhang, Fei et al., "Recognizing Everything from All Modalities at Once: Grounded Multimodal Universal
Information Extraction", Findings of ACL 2024 (arXiv 2406.03701), section 6 and its results tables: REAMO
(Vicuna-7B + ImageBind + SEEM/SHAS) zero-shot on its own 200-instance test sets per dataset and modality
combination (Twt17 NER, MNRE RE, M2E2 EE; speech made with Bark and Edge-TTS).

Every stored copy of the paper reachable from this workplace gives its tables only as images, so no
number could be read and none is typed in from memory: ``PAPER_REAMO`` is empty, and the report prints
"n/a" in the paper's column. To add a number, cite its table and cell here, keyed by our suite name and
metric, e.g. ``"twitter2017_t_ner": {"ner": 00.0}  # Table N, row REAMO, column T / NER``.
Note the paper's test sets are not ours: same sources, other 200-instance samples, other speech.
"""

from __future__ import annotations

PAPER_REAMO: dict[str, dict[str, float]] = {}
"""Suite name -> metric (``ner``, ``re``, ``et``, ``ea``, ``iseg``, ``aseg``, ``vtrck``) -> score."""

PAPER_CITATION = "Zhang, Fei et al., ACL Findings 2024 (arXiv 2406.03701)"


def paper_scores(suite: str) -> dict[str, float]:
    """The paper's REAMO numbers for a suite name (the file's stem), empty when it reports none."""
    return dict(PAPER_REAMO.get(suite, {}))
