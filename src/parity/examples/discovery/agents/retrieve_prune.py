"""A Python agent: two levers combined in code. Show the 2 nearest corpus cases as examples, ask for
10 questions, then keep the 7 that are least redundant with each other.

`ctx` offers the model (ctx.ask, ctx.generate), decoding, and retrieval over the corpus
(ctx.retrieve, ctx.embed); nothing from the ruler is reachable through it.
"""

import numpy as np

CONFIG = {
    "model": "llamacpp:smollm2-135m",
    "decoding": {"temperature": 0.0, "max_tokens": 700},
}


def answer(input, ctx):
    demos = ctx.retrieve(input, k=2, method="knn")
    draft = ctx.ask(input, n_questions=10, demos=demos)
    if draft is None:
        return ctx.ask(input, demos=demos, step="fallback")  # the plain 7-question answer
    questions = list(dict.fromkeys(draft.questions))
    vectors = ctx.embed(questions)
    while len(questions) > ctx.task.n_questions:
        sims = vectors @ vectors.T
        sims[np.tril_indices(len(questions))] = -np.inf
        _, later = np.unravel_index(int(np.argmax(sims)), sims.shape)
        del questions[later]
        vectors = np.delete(vectors, later, axis=0)
    if len(questions) < ctx.task.n_questions:
        return ctx.ask(input, demos=demos, step="fallback")
    return ctx.finish(draft.title, questions)
