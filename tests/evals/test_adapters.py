"""Built-in eval-set adapters on tiny fixture datasets, and their counts on the real shared data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evals import metrics
from evals.adapters import bundled_set_path, load_task
from evals.datasets import read_jsonl
from evals.evalset import read_evalset
from index.errors import InputError
from rag.assistant import bundled_corpus_dir
from tests.conftest import write


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    write(path, "".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "datasets"
    sf = root / "beir_scifact"
    _jsonl(sf / "corpus.jsonl", [{"_id": "10", "title": "T", "text": "Aspirin helps."}])
    _jsonl(sf / "queries.jsonl", [{"_id": "1", "text": "Does aspirin help?"}, {"_id": "2", "text": "Other?"}])
    write(sf / "qrels" / "test.tsv", "query-id\tcorpus-id\tscore\n1\t10\t1\n2\t10\t1\n")
    write(sf / "dev_ids.txt", "1\n")
    write(sf / "test_ids.txt", "2\n")
    sq = root / "squad_v2_dev"
    _jsonl(sq / "paragraphs.jsonl", [{"paragraph_id": "A#0", "title": "A", "context": "Paris is in France."}])
    _jsonl(
        sq / "questions.jsonl",
        [
            {
                "id": "s1",
                "question": "Where is Paris?",
                "paragraph_id": "A#0",
                "is_impossible": False,
                "answers": ["France", "France", "in France"],
                "title": "A",
            },
            {
                "id": "s2",
                "question": "Where is Lyon?",
                "paragraph_id": "A#0",
                "is_impossible": True,
                "answers": [],
                "title": "A",
            },
        ],
    )
    write(sq / "dev_ids.txt", "s1\n")
    write(sq / "test_ids.txt", "s2\n")
    rg = root / "rgb_en"
    _jsonl(
        rg / "en_5pos5neg.jsonl",
        [
            {
                "id": 0,
                "query": "Medals?",
                "answer": [["silver"], ["bronze"]],
                "positive": ["p0", "p1"],
                "negative": ["n0"],
            }
        ],
    )
    write(rg / "dev_ids.txt", "en:0\n")
    write(rg / "test_ids.txt", "")
    mh = root / "multihop_rag_sample500"
    _jsonl(mh / "evidence_facts.jsonl", [{"fact_id": "fa", "fact": "F1.", "title": "T1", "url": "u1"}])
    _jsonl(
        mh / "queries.jsonl",
        [
            {
                "id": "0",
                "query": "Q?",
                "question_type": "inference_query",
                "answer": "Yes",
                "evidence_list": [{"url": "u1", "fact": "F1."}],
            },
            {
                "id": "1",
                "query": "N?",
                "question_type": "null_query",
                "answer": "Insufficient information.",
                "evidence_list": [],
            },
        ],
    )
    write(mh / "dev_ids.txt", "0\n1\n")
    write(mh / "test_ids.txt", "")
    return root


@pytest.mark.unit
def test_fixture_adapters(data: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    sf = load_task("scifact", "dev", data, work)
    assert [(i.id, i.relevant) for i in sf.items] == [("1", {"10": 1})]
    assert len(load_task("scifact", "all", data, work).items) == 2

    sq = load_task("squad", "all", data, work)
    has, no = sq.items
    assert has.answers == ("France", "in France") and has.relevant == {"A#0": 1} and has.group == "HasAns"
    assert not no.answerable and no.relevant == {} and no.group == "NoAns"
    assert list(read_jsonl(sq.corpus[0])) == [{"id": "A#0", "title": "A", "text": "Paris is in France."}]

    rg = load_task("rgb", "dev", data, work)
    noise, reject = rg.items
    assert noise.within == ("en:0:p0", "en:0:p1", "en:0:n0") and noise.answers == (("silver",), ("bronze",))
    assert reject.within == ("en:0:n0",) and not reject.answerable and reject.group == "rejection"
    assert len(list(read_jsonl(rg.corpus[0]))) == 3
    assert load_task("rgb", "test", data, work).items == ()

    mh = load_task("multihop", "dev", data, work)
    assert mh.items[0].relevant == {"fa": 1} and mh.items[0].answers == ("Yes",)
    assert not mh.items[1].answerable and mh.items[1].group == "null_query"


@pytest.mark.unit
def test_bad_names_and_missing_data(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown eval set 'nope'; built-in sets: scifact"):
        load_task("nope", "test", None, tmp_path)
    with pytest.raises(InputError, match="unknown split 'train'"):
        load_task("squad", "train", None, tmp_path)
    with pytest.raises(InputError, match="RAG_SHARED_DATASETS"):
        load_task("squad", "test", None, tmp_path)
    with pytest.raises(InputError, match="unknown split 'train'"):
        load_task("bundled", "train", None, tmp_path)


@pytest.mark.unit
@pytest.mark.parametrize("split", ["dev", "test"])
def test_bundled_set_is_complete_and_grounded(split: str) -> None:
    """Each split: at least 75 questions, 14 follow-ups and 16 questions about names the corpus
    mentions but facts it does not give; every answer is in a corpus sentence holding its evidence."""
    from index.sentences import sentence_spans

    items = load_task("bundled", split, None, Path()).items
    texts = [p.read_text(encoding="utf-8") for p in bundled_corpus_dir().glob("*.md")]
    sentences = [t[s:e] for t in texts for s, e in sentence_spans(t)]
    assert len(items) >= 75
    assert sum(i.group == "follow-up" and bool(i.history) for i in items) >= 14
    assert sum(i.group == "unanswerable-named" and not i.answerable for i in items) >= 16
    for i in items:
        if i.answerable:
            holders = [s for s in sentences if any(metrics.contains_text(s, e) for e in i.evidence)]
            assert any(metrics.contains_answer(s, i.answers) for s in holders), i.id


@pytest.mark.unit
def test_bundled_dev_set_is_grounded_and_apart_from_the_eval_set() -> None:
    """The questions calibration may see (bundled_dev.jsonl) share none with the reported set."""
    dev = read_evalset(bundled_set_path("dev"))
    test = read_evalset(bundled_set_path("test"))
    corpus = " ".join(p.read_text(encoding="utf-8") for p in bundled_corpus_dir().glob("*.md"))
    assert len(dev) >= 30 and sum(not i.answerable for i in dev) >= 10
    assert not {i.question.lower() for i in dev} & {i.question.lower() for i in test}
    assert not {i.id for i in dev} & {i.id for i in test}
    for i in dev:
        if i.answerable:
            assert metrics.contains_answer(corpus, i.answers), i.id


@pytest.mark.unit
def test_real_datasets_counts(shared_dir: Path, tmp_path: Path) -> None:
    data = shared_dir / "datasets"
    counts = {
        ("scifact", "test"): 210,
        ("scifact", "dev"): 90,
        ("scifact", "all"): 300,
        ("squad", "test"): 8409,
        ("squad", "dev"): 3464,
        ("multihop", "test"): 347,
        ("multihop", "dev"): 153,
    }
    for (name, split), n in counts.items():
        assert len(load_task(name, split, data, tmp_path).items) == n, (name, split)
    rgb = load_task("rgb", "test", data, tmp_path)
    assert sum(i.group == "noise" for i in rgb.items) == 218
