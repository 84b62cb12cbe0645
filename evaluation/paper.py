"""The source paper's REAMO numbers, printed beside ours where a suite matches one of its test sets.

Zhang, Fei et al., "Recognizing Everything from All Modalities at Once: Grounded Multimodal Universal
Information Extraction", Findings of ACL 2024 (arXiv 2406.03701), section 6, Tables 2-5: REAMO
(Vicuna-7B + ImageBind + SEEM/SHAS), zero-shot, on its own 200-instance test sample per source and
modality combination, never released. The numbers are copied from the project's transcription of those
tables (``../shared/PAPER.md``), each cell cited to its table and column. They stand **beside** ours (same
source and metric, other instances), never as a like-for-like comparison; where the paper has no test set
of our suite's source, the closest cell stands in and is marked as a proxy, naming the paper's set.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAPER_CITATION", "PAPER_REAMO", "PaperCell", "paper_cells", "paper_scores"]

PAPER_CITATION = "Zhang, Fei et al., ACL Findings 2024 (arXiv 2406.03701)"


@dataclass(frozen=True)
class PaperCell:
    """One number of the paper's REAMO row: the metric it stands beside, where it is in the paper, and
    the paper's test set when that is another source than the suite's (a proxy)."""

    metric: str
    value: float
    table: int
    column: str
    proxy: str | None = None

    def cite(self) -> str:
        where = f"Table {self.table}, {self.column} {self.value:.1f}"
        return f"{where} (proxy: {self.proxy})" if self.proxy else where


def _cells(table: int, proxy: str | None, **columns: tuple[str, float]) -> tuple[PaperCell, ...]:
    return tuple(PaperCell(m, value, table, column, proxy) for m, (column, value) in columns.items())


PAPER_REAMO: dict[str, tuple[PaperCell, ...]] = {
    # Table 2 (T+I): same sources, but our suites are text only (the tweets' images are not available)
    "twitter2017_t_ner": _cells(2, None, ner=("T+I Twt17 NER", 47.4)),
    "mnre_t_re": _cells(2, None, re=("T+I MNRE RE", 24.6)),
    "m2e2_t_ee": _cells(2, None, et=("T+I M2E2 ET", 30.2), ea=("T+I M2E2 EA", 25.6)),
    # Table 2 (I): image-only NER on another source
    "coco128_i_ner": _cells(2, "PASCAL-C", ner=("I PASCAL-C NER", 43.0), iseg=("I PASCAL-C I-Seg", 64.6)),
    # Table 3: speech on another source (ACE05-Aud, ReTACRED)
    "twitter2017_ta_ner": _cells(
        3, "ACE05-Aud", ner=("T+A ACE05-Aud NER", 28.5), aseg=("T+A ACE05-Aud A-Seg", 24.3)
    ),
    "twitter2017_a_ner": _cells(
        3, "ACE05-Aud", ner=("A ACE05-Aud NER", 17.4), aseg=("A ACE05-Aud A-Seg", 16.7)
    ),
    "mnre_a_re": _cells(3, "ReTACRED", re=("A ReTACRED RE", 33.4), aseg=("A ReTACRED A-Seg", 25.1)),
    # Table 4 (V): video tracking on another source and task (VidSitu events)
    "davis2016_v_ner": _cells(4, "VidSitu, event tracks", vtrck=("V VidSitu V-Trck", 23.2)),
    # the mixed-label suites: text naming what the media show, the closest cells of the same shape
    "coco128-mixed": _cells(
        2, "Twt17 (T+I), named entities", ner=("T+I Twt17 NER", 47.4), iseg=("T+I Twt17 I-Seg", 53.5)
    ),
    "davis-mixed": _cells(4, "VidSitu-Txt, event tracks", vtrck=("T+V VidSitu-Txt V-Trck", 34.4)),
}
"""Our suite name -> the paper's REAMO cells that stand beside it (PAPER.md's 'which cell stands beside
which suite', plus the mixed-label suites' closest cells, proxies). Variants have none: the paper never
renamed its labels."""


def paper_cells(suite: str) -> tuple[PaperCell, ...]:
    """The paper's cells for a suite name (the file's stem); none when it reports nothing comparable."""
    return PAPER_REAMO.get(suite, ())


def paper_scores(suite: str) -> dict[str, float]:
    """The paper's REAMO numbers for a suite name by metric, empty when it reports none."""
    return {cell.metric: cell.value for cell in paper_cells(suite)}
