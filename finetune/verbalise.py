"""How a label can be written: the verbalisations the label-text scorer is tuned on.

A user names a type ``couple``, ``/per/per/couple``, ``PER_COUPLE``, ``romantic partner`` or describes it;
the universal scorer (``agent/universal.py``) reads whatever is written. Tuning shows it each training
label in many of these forms, chosen at random per batch, so that none of them is the one it learns.
The table of paraphrases and descriptions below covers the training corpora's labels only (it is
tuning material, like the corpora); the suites' renamings are written apart (``evaluation/``).
"""

from __future__ import annotations

import random
import re

PARAPHRASES: dict[str, tuple[str, ...]] = {
    # entity types (CoNLL, Twitter, WNUT, M2E2, MNRE, CASIE)
    "person": ("people", "human", "individual", "name of a person"),
    "location": ("place", "geographic location", "geo-political entity", "area"),
    "organization": ("organisation", "company or institution", "institution", "group or body"),
    "miscellaneous": ("other", "misc", "other named entity"),
    "corporation": ("company", "business", "firm"),
    "group": ("collective", "band or team", "group of people"),
    "product": ("commercial product", "brand item", "goods"),
    "creative-work": ("work of art", "title of a work", "song, film or book"),
    "vulnerability": ("security flaw", "software weakness"),
    "software": ("program", "application"),
    "malware": ("malicious software", "virus"),
    "device": ("hardware", "gadget"),
    "money": ("amount of money", "sum paid"),
    "time": ("date or time", "when"),
    # relation types
    "peer": ("colleague of", "associate", "peer of"),
    "member of": ("belongs to", "affiliated with", "membership"),
    "contain": ("contains", "includes place", "located inside"),
    "present in": ("appears at", "attends", "present at"),
    "locate at": ("located in", "based in", "headquarters location"),
    "place of residence": ("lives in", "residence", "home town"),
    "held on": ("takes place in", "held in", "venue"),
    "subsidiary": ("owned by", "part of company", "subsidiary of"),
    "alternate names": ("alias", "also known as", "other name"),
    "couple": ("spouse", "romantic partner", "married to", "partner of"),
    "nationality": ("citizen of", "country of citizenship", "national origin"),
    "part of": ("component of", "belongs to", "member of set"),
    "place of birth": ("born in", "birthplace", "birth place"),
    "awarded": ("received award", "won", "prize"),
    "charges": ("charged with", "accused of", "charge"),
    "siblings": ("brother or sister", "sibling of", "sibling"),
    "parent": ("father or mother", "parent of", "child of"),
    "alumi": ("alumni", "studied at", "graduate of"),
    "neighbor": ("neighbour", "lives next to"),
    "religion": ("faith", "religious affiliation"),
    "race": ("ethnicity", "ethnic group"),
    "contains": ("includes", "has inside it"),
    "place lived": ("lived in", "residence"),
    "company": ("works for", "employer"),
    "founders": ("founded by", "founder"),
    "children": ("child of", "son or daughter"),
    "place of death": ("died in", "death place"),
    "capital": ("capital city", "capital of"),
    "leader name": ("led by", "leader"),
    "birth place": ("born in", "place of birth"),
    # event types
    "attack": ("assault", "violent attack", "fighting", "strike"),
    "demonstrate": ("protest", "demonstration", "rally"),
    "meet": ("meeting", "gathering", "summit"),
    "phone write": ("communication", "phone call or letter", "correspondence"),
    "arrest jail": ("arrest", "detention", "imprisonment"),
    "die": ("death", "killing", "dying"),
    "transport": ("movement", "travel", "transportation"),
    "transfer money": ("payment", "money transfer", "financial transaction"),
    "databreach": ("data breach", "data leak", "data theft"),
    "phishing": ("phishing attack", "scam email"),
    "ransom": ("ransomware attack", "extortion"),
    "discover vulnerability": ("vulnerability found", "flaw discovered"),
    "patch vulnerability": ("security patch", "fix released"),
    # argument roles
    "attacker": ("assailant", "perpetrator", "aggressor"),
    "target": ("object attacked", "what was attacked"),
    "victim": ("casualty", "injured party", "person harmed"),
    "instrument": ("weapon", "means", "tool used"),
    "place": ("location", "where", "site"),
    "agent": ("actor", "doer", "who acts"),
    "artifact": ("thing moved", "cargo", "item transported"),
    "destination": ("where to", "end point", "arrival place"),
    "origin": ("where from", "start point", "departure place"),
    "entity": ("participant", "party"),
    "giver": ("payer", "sender of money"),
    "recipient": ("receiver", "payee"),
    "vehicle": ("means of transport", "car, plane or ship"),
    "discoverer": ("finder", "who found it"),
    "tool": ("instrument", "means used"),
    "releaser": ("publisher of the fix", "vendor"),
}
DESCRIPTIONS: dict[str, str] = {
    "person": "a named individual human",
    "location": "a named place such as a country, city, region or landmark",
    "organization": "a named company, institution, team, party or other organised group",
    "miscellaneous": "a named entity that is not a person, location or organization, such as an event, "
    "nationality, product or work",
    "couple": "two people in a romantic relationship or married",
    "member of": "a person belongs to an organization",
    "peer": "two people who are colleagues, teammates or otherwise associated",
    "place of birth": "the place where a person was born",
    "place of residence": "the place where a person lives",
    "nationality": "the country or nation a person belongs to",
    "locate at": "the place where an organization is located",
    "present in": "a person takes part in or attends an event",
    "attack": "a violent physical act causing harm or damage",
    "meet": "two or more entities come together at a place to talk",
    "die": "the end of a person's life",
    "transport": "someone or something moves from one place to another",
    "arrest jail": "a person is arrested, detained or jailed by authorities",
    "demonstrate": "a large number of people gather in public to protest or demand something",
    "transfer money": "money is given, paid, lent or donated from one party to another",
    "phone write": "communication by phone, letter, email or message",
    "attacker": "the one who carries out the attack",
    "victim": "the person harmed or killed",
    "target": "what is attacked or damaged",
    "place": "where the event happens",
}
STYLES = ("raw", "name", "title", "upper", "code", "paraphrase", "described")
WEIGHTS = (0.2, 0.3, 0.08, 0.07, 0.1, 0.15, 0.1)


def bare_name(label: str) -> str:
    """The words of a label without its dataset's prefixes and punctuation: ``/per/per/couple`` →
    ``couple``, ``Conflict:Attack`` → ``attack``, ``birthPlace`` → ``birth place``, ``Vulnerable_System``
    → ``vulnerable system``."""
    last = re.split(r"[/:]", label.strip("/"))[-1] or label
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", last)
    return " ".join(re.sub(r"[_\-.]+", " ", spaced).lower().split()) or label.lower()


def code(label: str) -> str:
    """A short upper-case code: ``person`` → ``PER``, ``place of birth`` → ``PLACE_OF_BIRTH`` or ``POB``."""
    words = bare_name(label).split()
    if len(words) == 1:
        return words[0][:3].upper() if len(words[0]) > 4 else words[0].upper()
    return "".join(w[0] for w in words).upper() if len(words) > 2 else "_".join(words).upper()


def written(label: str, style: str) -> str:
    """``label`` in a style that needs no draw: ``raw``, ``title``, ``upper`` or ``code``; any other style
    gives its bare name."""
    name = bare_name(label)
    return {"raw": label, "title": name.title(), "upper": name.upper(), "code": code(label)}.get(style, name)


def verbalise(label: str, rng: random.Random) -> str:
    """One way of writing ``label``, drawn at random among ``STYLES``."""
    name = bare_name(label)
    style = rng.choices(STYLES, WEIGHTS)[0]
    if style == "paraphrase" and name in PARAPHRASES:
        return rng.choice(PARAPHRASES[name])
    if style == "described" and name in DESCRIPTIONS:
        return f"{rng.choice([name, label])}: {DESCRIPTIONS[name]}"
    return written(label, style)
