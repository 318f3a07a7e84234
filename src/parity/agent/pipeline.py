"""The pipeline diagram of an agent, drawn as SVG from its config: one visual language for every
experiment (grey = input/output, blue = retrieval, orange = model call, green = post-processing,
purple = hand-written Python). Stacked boxes mean several calls; each strategy draws its own boxes."""

from __future__ import annotations

from html import escape

from parity.agent.config import AgentConfig
from parity.agent.pyagent import calls_used
from parity.agent.strategies import Diagram, Node, strategy_nodes
from parity.task import TaskSpec

COLOURS = {
    "io": ("#eceff1", "#607d8b"),
    "retrieval": ("#e3f2fd", "#1e88e5"),
    "call": ("#fff3e0", "#fb8c00"),
    "post": ("#e8f5e9", "#43a047"),
    "python": ("#f3e5f5", "#8e24aa"),
}
LEGEND = {"io": "input / output", "retrieval": "retrieval", "call": "model call", "post": "post-processing", "python": "Python code"}
WIDTH, BOX_W, BOX_H, GAP, TOP = 480, 400, 54, 30, 40


def pipeline_nodes(config: AgentConfig, task: TaskSpec, python_code: str | None = None, python_name: str = "") -> list[Node]:
    model = config.model + (f" + adapter {config.adapter}" if config.adapter else "")
    decoding = "greedy" if config.decoding.temperature == 0 else f"T={config.decoding.temperature:g}, top_p={config.decoding.top_p:g}"
    nodes = [Node("io", "case input", "the user's message" if task.free_text else "the one-line task")]
    shot = config.fewshot
    if shot is not None:
        how = f"MMR λ={shot.mmr_lambda:g}" if shot.retrieval == "mmr" else shot.retrieval
        nodes.append(
            Node(
                "retrieval", f"retrieve {shot.k} demos from the corpus ({how})", "refuses the case itself and cosine ≥ 0.9 near-duplicates"
            )
        )
    if python_code is not None:
        used = ", ".join(f"ctx.{name}" for name in calls_used(python_code)) or "no ctx calls found"
        nodes.append(Node("python", f"{python_name} answer(input, ctx)", used))
        nodes.append(Node("call", f"model: {model}", f"{decoding}; whatever answer() asks for"))
    else:
        nodes.extend(strategy_nodes(config.strategy, Diagram(model, decoding, task)))
    nodes.append(Node("io", "answer", task.answer_shape()))
    return nodes


def pipeline_svg(config: AgentConfig, task: TaskSpec, python_code: str | None = None, python_name: str = "") -> str:
    nodes = pipeline_nodes(config, task, python_code, python_name)
    legend_y = TOP + len(nodes) * (BOX_H + GAP)
    height = legend_y + 40
    x = (WIDTH - BOX_W) // 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">'
        '<path d="M0,0 L10,5 L0,10 z" fill="#455a64"/></marker></defs>',
        f'<text x="{WIDTH // 2}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{escape(config.name or "agent")}</text>',
    ]
    for i, node in enumerate(nodes):
        y = TOP + i * (BOX_H + GAP)
        fill, stroke = COLOURS[node.kind]
        for shadow in range(min(node.copies, 4) - 1, 0, -1):
            parts.append(
                f'<rect x="{x + 4 * shadow}" y="{y - 4 * shadow}" width="{BOX_W}" height="{BOX_H}" rx="8" fill="{fill}" stroke="{stroke}"/>'
            )
        rx = 24 if node.kind == "io" else 8
        parts.append(
            f'<rect class="node {node.kind}" x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="2"/>'
        )
        parts.append(
            f'<text x="{WIDTH // 2}" y="{y + 22}" text-anchor="middle" font-size="13" font-weight="bold">{escape(_clip(node.title, 58))}</text>'
        )
        if node.detail:
            parts.append(
                f'<text x="{WIDTH // 2}" y="{y + 41}" text-anchor="middle" font-size="11" fill="#37474f">{escape(_clip(node.detail, 70))}</text>'
            )
        if i < len(nodes) - 1:
            parts.append(
                f'<line x1="{WIDTH // 2}" y1="{y + BOX_H}" x2="{WIDTH // 2}" y2="{y + BOX_H + GAP - 2}" stroke="#455a64" stroke-width="2" marker-end="url(#arrow)"/>'
            )
    lx = 10
    for kind, label in LEGEND.items():
        fill, stroke = COLOURS[kind]
        parts.append(f'<rect x="{lx}" y="{legend_y + 8}" width="12" height="12" fill="{fill}" stroke="{stroke}"/>')
        parts.append(f'<text x="{lx + 16}" y="{legend_y + 18}" font-size="10">{escape(label)}</text>')
        lx += 16 + 6 * len(label) + 8  # 10-px text is under 6 px a character: the five entries fit the 480-px width
    parts.append("</svg>")
    return "\n".join(parts)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
