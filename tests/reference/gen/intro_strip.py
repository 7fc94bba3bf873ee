"""Writes what the ExpandR reference code's intro clean-up gives for a set of model outputs.

Output: tests/reference/fixtures/intro-strip.json, read by tests/unit/pipeline-intro-strip.test.ts to check
stripIntro (src/pipeline/prompts.ts) on every text that contains one of the reference's phrases.

The rule (ExpandR's generation scripts, summarised in ../shared/FACTS.md): walk the fixed phrase list in
order; the first phrase that occurs anywhere in the text is split on with Python's str.split, element [1]
is kept (the text after the first occurrence, up to a second one), then str.strip() with no argument.
Python's own str.split / str.strip semantics are what this fixture pins (whitespace per str.isspace).

Run from the project root with any python3: python3 tests/reference/gen/intro_strip.py
Deterministic: re-running rewrites the same file.
"""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
OUT = ROOT / "tests/reference/fixtures/intro-strip.json"

# The reference's list, in its order.
PHRASES = [
    "Here is a passage to answer the question:",
    "Here is a passage that answers the question:",
    "Here is a passage answering the question:",
    "Here's a passage that attempts to answer the question:",
    "Here's a passage that answers the question:",
    "Here's a passage that answers your question:",
    "Here's a possible passage:",
    "Here is a possible passage:",
    "Here is a potential passage:",
    "Here's a potential passage:",
    "Here's a passage:",
    "Here is the passage:",
    "Here's the passage:",
]


def reference_clean(text):
    for phrase in PHRASES:
        if phrase in text:
            return text.split(phrase)[1].strip()
    return text.strip()


BODY = "Tides are caused mainly by the moon's gravity.\n\nThe sun adds a smaller pull."
INPUTS = (
    [f"{p}\n\n{BODY}" for p in PHRASES]
    + [
        f"Sure! Here's a passage:\n{BODY}",  # the phrase after a leading word: the words before it go
        f"I can help. Here is a passage to answer the question: {BODY}\nLet me know if you need more.",
        f"Here's a passage: first part. Here's a passage: second part.",  # second occurrence ends the kept text
        f"Here is the passage: A. Here's a passage: B",  # list order, not text order, picks the phrase
        f"Here's a possible passage: {BODY}",  # the longer phrase comes first in the list
        f"{BODY}\nHere is a passage answering the question:",  # phrase at the very end: nothing kept
        "Here's a passage:\x1c\x85\u3000 body \u2028\x1f",  # Python whitespace that JS trim() treats otherwise
        "Here's a passage:\ufeffbody\ufeff",  # U+FEFF is not whitespace to Python
        "Here's a passage:\u200bbody\u00a0",  # zero-width space is not whitespace; no-break space is
        f"here is a passage to answer the question: {BODY}",  # case-sensitive: no reference phrase
        f"Here is a passage to answer the question{BODY}",  # no colon: no phrase
    ]
)


def main():
    cases = [{"input": t, "output": reference_clean(t), "phrase": next((p for p in PHRASES if p in t), None)} for t in INPUTS]
    OUT.write_text(json.dumps({"phrases": PHRASES, "cases": cases}, indent=1, ensure_ascii=True) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(cases)} cases")


if __name__ == "__main__":
    main()
