"""`parity analyze probe`: what tells the model's answers from the teacher's? Two discriminators
with cross-validation on the same answers: one sees only style features (lengths, question
forms, punctuation; for free text, voice and structure), the other only content (MiniLM embeddings). Teacher answers are the golds
of the cases the experiments answered."""

from __future__ import annotations

import re

import numpy as np

from parity.analysis.record import Analysis, new_figure
from parity.analysis.stored import answer_text, experiment_of_ruler, stored_cases
from parity.errors import ParityError
from parity.models.embedder import get_embedder, workspace_cache
from parity.ruler import Ruler
from parity.store import Store
from parity.task import Workspace

OPENERS = ("what", "which", "how", "when", "where", "who", "why", "do", "does", "are", "is", "will", "would", "can", "should", "have")
STYLE_FEATURES = [
    "title words",
    "words per question",
    "SD of words per question",
    "characters per word",
    "commas per question",
    "questions with 'you'",
    "questions opening with a wh-word",
    "questions opening with do/is/are/…",
    "questions with 'or'",
    "distinct words share",
    "digits per question",
    "parentheses or dashes per question",
]


def style_features(title: str, questions: list[str]) -> list[float]:
    words = [q.split() for q in questions] or [[]]
    counts = np.array([len(w) for w in words], dtype=float)
    all_words = [w.lower().strip("?,.;:") for ws in words for w in ws]
    first = [w[0].lower() if w else "" for w in words]
    n = max(len(questions), 1)
    return [
        float(len(title.split())),
        float(counts.mean()),
        float(counts.std()),
        float(np.mean([len(w) for w in all_words])) if all_words else 0.0,
        sum(q.count(",") for q in questions) / n,
        sum(bool(re.search(r"\byou(r)?\b", q, re.I)) for q in questions) / n,
        sum(f in OPENERS[:7] for f in first) / n,
        sum(f in OPENERS[7:] for f in first) / n,
        sum(bool(re.search(r"\bor\b", q, re.I)) for q in questions) / n,
        len(set(all_words)) / max(len(all_words), 1),
        sum(ch.isdigit() for q in questions for ch in q) / n,
        sum(q.count("(") + q.count("—") + q.count(" - ") for q in questions) / n,
    ]


TEXT_STYLE_FEATURES = [
    "words per sentence",
    "long-word share",
    "first-person rate",
    "register words",
    "contractions",
    "semicolons and colons",
    "enumerators",
    "subordinators",
    "words (/300)",
]


def answer_style(answer: dict) -> list[float]:
    """Style features of a stored answer: question forms for question tasks, voice and structure for free text."""
    if "text" in answer:
        from parity.judge.reference_text import rhetoric_features, voice_features

        text = answer["text"]
        return [*voice_features(text), *rhetoric_features(text), len(text.split()) / 300]
    return style_features(answer["title"], list(answer["questions"]))


def probe(ws: Workspace, ruler: Ruler, store: Store, experiment_ids: list[int], folds: int = 5, seed: int = 0) -> Analysis:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score, roc_curve
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    teacher, model = {}, []
    for experiment_id in experiment_ids:
        experiment_of_ruler(ws, ruler, store, experiment_id)
        for case, row in stored_cases(ruler, store, experiment_id):
            if row.answer is not None:
                teacher[case.id] = case.gold.to_dict()
                model.append(row.answer)
    answers = list(teacher.values()) + model
    labels = np.array([1] * len(teacher) + [0] * len(model))
    k = min(folds, len(teacher), len(model))
    if k < 2:
        raise ParityError(
            f"{len(teacher)} teacher and {len(model)} model answers: too few to cross-validate",
            "parity analyze probe",
            "probe experiments with at least two answered cases",
        )
    splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    style = np.array([answer_style(a) for a in answers])
    content = get_embedder(ws.config.judge.embedder, workspace_cache(ws.state_dir)).encode([answer_text(a) for a in answers])
    results, curves = [], {}
    for name, x in (("style features only", style), ("content embeddings only", content)):
        classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, class_weight="balanced"))
        scores = cross_val_predict(classifier, x, labels, cv=splits, method="predict_proba")[:, 1]
        fold_aucs = [roc_auc_score(labels[test], scores[test]) for _, test in splits.split(x, labels) if len(set(labels[test])) == 2]
        results.append(
            [
                name,
                x.shape[1],
                round(float(roc_auc_score(labels, scores)), 3),
                round(float(np.mean(fold_aucs)), 3) if fold_aucs else None,
                round(float(np.std(fold_aucs)), 3) if fold_aucs else None,
            ]
        )
        curves[name] = roc_curve(labels, scores)[:2]
    findings = [
        f"{name}: cross-validated AUC {auc:.3f} ({k} folds; {len(teacher)} teacher vs {len(model)} model answers)"
        for name, _, auc, _, _ in results
    ]
    gap = results[0][2] - results[1][2]
    findings.append(f"style AUC − content AUC = {gap:+.3f}")
    return Analysis(
        "probe",
        ruler.fingerprint,
        {"experiments": experiment_ids, "folds": k, "style_features": TEXT_STYLE_FEATURES if ws.task.free_text else STYLE_FEATURES},
        ["probe", "features", "AUC (out-of-fold)", "mean fold AUC", "SD fold AUC"],
        results,
        findings,
        _plot(curves),
    )


def _plot(curves: dict[str, tuple[np.ndarray, np.ndarray]]):
    figure = new_figure(5.5, 4.5)
    ax = figure.add_subplot()
    for name, (fpr, tpr) in curves.items():
        ax.plot(fpr, tpr, label=name)
    ax.plot([0, 1], [0, 1], linestyle=":", color="#888")
    ax.set_xlabel("false positive rate (model answers called teacher)")
    ax.set_ylabel("true positive rate")
    ax.set_title("Teacher vs model: cross-validated ROC")
    ax.legend()
    return figure
