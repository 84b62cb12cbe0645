"""A benchmark artefact: hand-written renamings of the benchmark suites' labels, for the schema-shift
variants (``reamo.evaluation.variants``).

Written once by hand from what each label means in its source (the CoNLL-style entity types of
Twitter-2017, MNRE's relations, the ACE event types and roles of M2E2), never produced by a model, and
read only by ``reamo bench build``: the extractor never sees this table, only the suites built with it.
Keys are the suites' original labels. A paraphrase is a natural-language name a user might give the same
label (``/per/per/couple`` -> ``romantic partner of``); a description is one line saying what it means.
Paraphrases are distinct from each other, case aside, and from the label they rename (a test checks it).
"""

from __future__ import annotations

PARAPHRASES: dict[str, str] = {
    # entity types (Twitter-2017, MNRE, M2E2)
    "person": "people",
    "location": "place",
    "organization": "institution",
    "miscellaneous": "other named thing",
    # MNRE relations
    "/per/per/peer": "peer of",
    "/per/org/member_of": "belongs to the group",
    "/loc/loc/contain": "contains the place",
    "/per/misc/present_in": "appears at",
    "/org/loc/locate_at": "based in",
    "/per/loc/place_of_residence": "lives in",
    "/misc/loc/held_on": "takes place in",
    "/org/org/subsidiary": "division of",
    "/per/per/alternate_names": "also known as",
    "/per/per/couple": "romantic partner of",
    "/per/misc/nationality": "citizen of",
    "/misc/misc/part_of": "component of",
    "/org/org/alternate_names": "organisation also called",
    "/per/loc/place_of_birth": "born in",
    "/per/misc/awarded": "honoured with",
    "/per/per/charges": "in a legal case with",
    "/per/per/siblings": "brother or sister of",
    "/per/per/parent": "mother or father of",
    "/per/per/alumi": "schoolmate of",
    "/per/per/neighbor": "lives next to",
    "/per/misc/religion": "follows the faith",
    "/per/misc/race": "of the ethnic group",
    # M2E2 (ACE) event types
    "Conflict:Attack": "violent attack",
    "Conflict:Demonstrate": "public protest",
    "Contact:Meet": "face-to-face meeting",
    "Contact:Phone-Write": "call or written message",
    "Justice:Arrest-Jail": "arrest or imprisonment",
    "Life:Die": "death",
    "Movement:Transport": "moving people or goods",
    "Transaction:Transfer-Money": "payment",
    # M2E2 (ACE) argument roles
    "Agent": "who is responsible",
    "Artifact": "what is moved",
    "Attacker": "assailant",
    "Destination": "where to",
    "Entity": "participant",
    "Giver": "payer",
    "Instrument": "weapon or tool used",
    "Money": "amount paid",
    "Origin": "where from",
    "Person": "person held",
    "Place": "where it happened",
    "Police": "law enforcement",
    "Recipient": "who is paid",
    "Target": "what is attacked",
    "Vehicle": "vehicle used",
    "Victim": "who is hurt or killed",
}
"""Original label -> a natural-language name for it (the ``paraphrases`` variant)."""

DESCRIPTIONS: dict[str, str] = {
    "person": "a person or people, named or referred to",
    "location": "a place: a country, city, region, landmark, building or natural feature",
    "organization": "a company, institution, team, band, party, agency or other organised group",
    "miscellaneous": "any other named thing: an event, nationality, product, work of art, award or weapon",
    "/per/per/peer": "two people who are colleagues, teammates or otherwise equals in what they do",
    "/per/org/member_of": "a person belongs to, works for or plays for an organisation",
    "/loc/loc/contain": "a place lies inside another place (the second is within the first)",
    "/per/misc/present_in": "a person takes part in or is present at an event or thing",
    "/org/loc/locate_at": "an organisation is based or located in a place",
    "/per/loc/place_of_residence": "a person lives in a place",
    "/misc/loc/held_on": "an event or thing happens or is held in a place",
    "/org/org/subsidiary": "an organisation is part of, or owned by, another organisation",
    "/per/per/alternate_names": "two names of the same person",
    "/per/per/couple": "two people in a romantic relationship: married, engaged or dating",
    "/per/misc/nationality": "a person's nationality or country of citizenship",
    "/misc/misc/part_of": "a thing is a part or component of another thing",
    "/org/org/alternate_names": "two names of the same organisation",
    "/per/loc/place_of_birth": "a person was born in a place",
    "/per/misc/awarded": "a person received an award, prize or title",
    "/per/per/charges": "one person accuses, charges or prosecutes another",
    "/per/per/siblings": "two people are brothers or sisters",
    "/per/per/parent": "the first person is a parent of the second",
    "/per/per/alumi": "two people went to the same school or university",
    "/per/per/neighbor": "two people live next to each other",
    "/per/misc/religion": "a person's religion or faith",
    "/per/misc/race": "a person's ethnic group or race",
    "Conflict:Attack": "a violent act causing harm or damage: a shooting, bombing, strike or assault",
    "Conflict:Demonstrate": "a group of people gather in public to protest or demand something",
    "Contact:Meet": "two or more parties meet face to face",
    "Contact:Phone-Write": "parties communicate without meeting: by phone, letter, e-mail or message",
    "Justice:Arrest-Jail": "someone is arrested, detained or put in prison",
    "Life:Die": "someone dies or is killed",
    "Movement:Transport": "people or things are moved from one place to another",
    "Transaction:Transfer-Money": "money is given, paid, lent or donated from one party to another",
    "Agent": "who carries out the arrest or transport, or is responsible for it",
    "Artifact": "the person or thing that is moved",
    "Attacker": "who carries out the attack",
    "Destination": "where the people or things are moved to",
    "Entity": "a party that meets, communicates or demonstrates",
    "Giver": "who gives or pays the money",
    "Instrument": "the weapon or device used",
    "Money": "the amount of money transferred",
    "Origin": "where the people or things are moved from",
    "Person": "the person arrested or jailed",
    "Place": "where the event happens",
    "Police": "the police or force that makes an arrest",
    "Recipient": "who receives the money",
    "Target": "the thing or place attacked",
    "Vehicle": "the vehicle used to move people or things",
    "Victim": "who is harmed or killed",
}
"""Original label -> one line saying what it means (the ``described`` variant's descriptions)."""
