"""The synthetic world of facts the demo base learns (and its fine-tunes may forget).

Invented people, each with four attributes (home town, trade, favourite colour, pet), drawn from
a seed. Every fact is stated in several TRAINING templates, mostly (FRAMED_SHARE) inside a training
frame ("People say that ..."), to write the pretraining documents; the fact-recall probe asks
in HELD-OUT templates (a frame the base never saw around a statement), so it measures recall of
the fact in a sentence the base has not seen, not recall of a training sentence.

Each fact is asked once in every held-out frame, so a small world (a few hundred facts, which a
tiny model can learn within minutes) still gives a probe of several hundred items.

The value always ends the held-out sentence, so the probe is a multiple-choice completion:
context = the held-out sentence up to the value, choices = " " + value for the gold value and
three other values of the same attribute (the same pool, so no choice is a priori likelier).
"""
from __future__ import annotations

import random

FIRST = ["Ma", "Te", "Lo", "Ri", "Sa", "Vo", "Ka", "Be", "Du", "Ne", "Fi", "Ga", "Ho", "Ju", "Pe", "Zo"]
MIDDLE = ["ren", "lin", "dor", "mak", "sel", "vin", "tar", "ron", "bel", "kas"]
SURNAME_A = ["Hol", "Brin", "Cas", "Dal", "Fen", "Grim", "Har", "Lud", "Mor", "Ost", "Pell", "Rook"]
SURNAME_B = ["den", "wick", "ford", "by", "ton", "more", "ley", "stead"]

ATTRIBUTES: dict[str, list[str]] = {
    "town": ["Brindle", "Castamor", "Elmsey", "Farrow", "Glenholt", "Harlow", "Kestrel", "Marsh",
             "Orrin", "Tamsey"],
    "trade": ["baker", "sailor", "doctor", "farmer", "painter", "teacher", "miner", "tailor",
              "singer", "potter"],
    "colour": ["red", "blue", "green", "yellow", "purple", "orange", "white", "black", "brown",
               "grey"],
    "pet": ["cat", "dog", "horse", "goat", "parrot", "rabbit", "hen", "fox", "turtle", "pig"],
}

# {e} = the entity's name, {v} = the value.
TRAINING_TEMPLATES: dict[str, list[str]] = {
    "town": ["{e} lives in {v}.", "{e} has a house in {v}.", "The home town of {e} is {v}.",
             "{e} spends every day in the town of {v}.", "Where does {e} live? In {v}."],
    "trade": ["{e} works as a {v}.", "By trade, {e} is a {v}.", "{e} earns a living as a {v}.",
              "Every morning {e} goes to work as a {v}.", "What does {e} do? {e} is a {v}."],
    "colour": ["The favourite colour of {e} is {v}.", "{e} likes the colour {v} best.",
               "{e} always wears {v}.", "Of all colours, {e} prefers {v}.",
               "What colour does {e} love? {v}."],
    "pet": ["{e} has a pet {v}.", "{e} owns a {v}.", "At home, {e} keeps a {v}.",
            "The pet of {e} is a {v}.", "What animal lives with {e}? A {v}."],
}
# Sentence frames put before a statement. Training profiles use TRAINING_FRAMES (or none); the
# probe uses HELDOUT_FRAMES, never seen in training. (A first base, trained without frames and
# probed with held-out relation phrases such as "{e} is a resident of {v}", scored 0.335, chance,
# on the probe while scoring 0.885 on its own training sentences: a model this small stores each
# fact under the exact phrasing it was taught. Frames teach it that the same fact holds inside
# any sentence, and the probe asks in frames it has not seen.)
# Sixteen training frames: the more openings the base sees before a name, the more it learns that
# the opening does not matter, which is what the held-out frames test.
TRAINING_FRAMES = ["It is known that", "People say that", "Everyone agrees that", "In fact,", "As it happens,",
                   "We learned that", "Of course,", "Many believe that", "Today,", "By all accounts,",
                   "The story goes that", "It is true that", "Some will say that", "Last year,",
                   "In those days,", "Friends know that"]
FRAMED_SHARE = 0.75  # share of the statements in a training profile put inside a training frame
HELDOUT_FRAMES = ["Records show that", "As far as anyone knows,", "In the village,", "Neighbours will tell you that"]


def framed(frame: str, template: str) -> str:
    """A template after a frame: "People say that" + "The pet of {e} is a {v}." ->
    "People say that the pet of {e} is a {v}."."""
    if template.startswith("{e}"):
        return f"{frame} {template}"
    return f"{frame} {template[0].lower()}{template[1:]}"


def make_entities(n: int, seed: int) -> list[dict]:
    """n people with distinct two-part names and uniformly drawn attributes."""
    rng = random.Random(seed)
    names: set[str] = set()
    people = []
    while len(people) < n:
        name = (rng.choice(FIRST) + rng.choice(MIDDLE)) + " " + (rng.choice(SURNAME_A) + rng.choice(SURNAME_B))
        if name in names:
            continue
        names.add(name)
        people.append({"name": name, **{a: rng.choice(vals) for a, vals in ATTRIBUTES.items()}})
    return people


def profile(person: dict, rng: random.Random) -> str:
    """One pretraining document: the person's four facts, each in a random training template,
    in random order."""
    attrs = list(ATTRIBUTES)
    rng.shuffle(attrs)
    sentences = []
    for a in attrs:
        t = rng.choice(TRAINING_TEMPLATES[a])
        if "?" not in t and rng.random() < FRAMED_SHARE:
            t = framed(rng.choice(TRAINING_FRAMES), t)
        sentences.append(t.format(e=person["name"], v=person[a]))
    return " ".join(sentences)


def probe_items(people: list[dict], seed: int, frames: list[str] | None = None) -> list[dict]:
    """One multiple-choice item per (person, attribute, frame): each fact asked once in every
    held-out frame (a statement template drawn at random per item), so a small world still gives
    hundreds of items. frames=[""] asks in the bare training statements instead (a diagnostic of
    memorisation, never a task)."""
    rng = random.Random(seed)
    frames = HELDOUT_FRAMES if frames is None else frames
    statements = {a: [t for t in TRAINING_TEMPLATES[a] if t.endswith(" {v}.") and "?" not in t] for a in ATTRIBUTES}
    items = []
    for p in people:
        for a, pool in ATTRIBUTES.items():
            for k, frame in enumerate(frames):
                t = rng.choice(statements[a])
                template = framed(frame, t) if frame else t
                context = template[: -len(" {v}.")].format(e=p["name"])
                distractors = rng.sample([v for v in pool if v != p[a]], 3)
                choices = distractors + [p[a]]
                rng.shuffle(choices)
                items.append({"id": f"{p['name']}|{a}|{k}", "attribute": a, "context": context,
                              "choices": choices, "label": choices.index(p[a])})
    return items
