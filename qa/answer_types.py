"""The answer types of a question and the lexicon that assigns them (data only; the rules are in qa/analysis.py).

Each answer type maps to the spaCy (OntoNotes) entity labels a candidate answer may carry. The lexicon maps the
noun of "what/which X" and the adjective of "how ADJ" to a type and the labels its answer may carry; the wh-words
give the rest ("when" → date). It is small on purpose: the parse finds the noun, the lexicon only names its type.
"""

from __future__ import annotations

# The answer types. "thing" is a name of another kind (an event, a law, a work, a product, a language) or of an
# unknown kind ("what was the name of the puppy"): the list the issue gives has no place for it.
PERSON, ORGANISATION, PLACE, DATE, NUMBER = "person", "organisation", "place", "date", "number"
REASON, YES_NO, LIST, COMPARISON, DESCRIPTION, THING = "reason", "yes_no", "list", "comparison", "description", "thing"
ANSWER_TYPES = (PERSON, ORGANISATION, PLACE, DATE, NUMBER, REASON, YES_NO, LIST, COMPARISON, DESCRIPTION, THING)

# Which spaCy (OntoNotes) entity labels answer each type. Reason, yes/no, list, comparison and description
# answers are clauses, not entities: no label answers them and candidates() finds none for them.
TYPE_LABELS: dict[str, frozenset[str]] = {
    PERSON: frozenset({"PERSON"}),
    ORGANISATION: frozenset({"ORG", "NORP"}),  # NORP: nationalities, religious and political groups
    PLACE: frozenset({"GPE", "LOC", "FAC"}),
    DATE: frozenset({"DATE", "TIME"}),
    NUMBER: frozenset({"CARDINAL", "MONEY", "PERCENT", "QUANTITY", "ORDINAL"}),
    THING: frozenset({"EVENT", "LAW", "WORK_OF_ART", "PRODUCT", "LANGUAGE"}),
}
LABEL_TYPES: dict[str, str] = {label: kind for kind, labels in TYPE_LABELS.items() for label in labels}
NAME_LABELS = frozenset(LABEL_TYPES) - TYPE_LABELS[DATE] - TYPE_LABELS[NUMBER]

# The lexicon of answer-type nouns for "what/which X" and "how ADJ": lemma -> (type, labels a candidate may carry).
_P, _O, _L, _D = TYPE_LABELS[PERSON], TYPE_LABELS[ORGANISATION], TYPE_LABELS[PLACE], TYPE_LABELS[DATE]
_N = TYPE_LABELS[NUMBER]
NOUN_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    **{w: (PERSON, _P) for w in (
        "person", "people", "man", "woman", "president", "minister", "leader", "official", "politician", "king",
        "queen", "tsar", "emperor", "author", "writer", "journalist", "reporter", "analyst", "expert", "diplomat",
        "ambassador", "general", "commander", "chancellor", "secretary", "spokesman", "spokeswoman", "founder",
        "director", "actor", "player", "scientist", "artist", "composer", "singer", "poet", "philosopher",
        "inventor", "explorer", "ruler", "pope", "prince", "princess", "successor", "predecessor", "counterpart",
        "candidate", "winner", "premier", "head", "member", "wife", "husband", "son", "daughter", "father",
        "mother", "brother", "sister", "architect", "engineer", "coach", "guest", "host", "envoy", "governor")},
    **{w: (ORGANISATION, _O) for w in (
        "organisation", "organization", "company", "firm", "group", "party", "team", "agency", "institution",
        "university", "school", "college", "bank", "newspaper", "outlet", "channel", "broadcaster", "network",
        "club", "union", "committee", "council", "government", "ministry", "department", "alliance", "body",
        "band", "corporation", "business", "manufacturer", "publisher", "magazine", "airline", "army", "navy",
        "nationality", "religion", "faction", "movement", "church", "court", "parliament", "media")},
    **{w: (PLACE, _L | {"ORG"}) for w in (
        "place", "city", "town", "village", "country", "nation", "state", "region", "province", "capital",
        "location", "continent", "river", "mountain", "island", "sea", "ocean", "lake", "venue", "palace",
        "building", "airport", "port", "street", "area", "territory", "district", "county", "site", "border",
        "peninsula", "residence", "castle", "square", "stadium", "bridge", "destination", "neighbourhood",
        "gallery", "hall", "room", "museum", "hotel", "base", "headquarters", "monastery", "abbey", "cathedral",
        "church_building", "temple", "fortress")},
    **{w: (DATE, _D) for w in (
        "year", "date", "day", "month", "time", "century", "decade", "period", "era", "season", "week",
        "hour", "moment", "weekday", "duration")},
    **{w: (NUMBER, _N) for w in (
        "number", "amount", "percentage", "percent", "proportion", "share", "rate", "price", "cost", "sum",
        "total", "population", "size", "distance", "length", "height", "weight", "temperature", "speed",
        "value", "figure", "quantity", "budget", "salary", "fee", "fine", "toll", "anniversary",
        "score", "ratio", "fraction", "majority")},
    **{w: (REASON, frozenset()) for w in ("reason", "cause", "purpose", "motive", "motivation", "explanation")},
    **{w: (THING, TYPE_LABELS[THING]) for w in (
        "event", "war", "battle", "treaty", "law", "act", "agreement", "pact", "book", "film", "movie", "song",
        "album", "novel", "play", "painting", "language", "product", "ship", "aircraft", "plane", "car", "crisis",
        "conflict", "operation", "summit", "conference", "festival", "exhibition", "award", "prize", "expedition",
        "campaign", "invasion", "siege", "revolution", "rebellion", "uprising", "election", "tournament")},
}
NOUN_TYPES["age"] = (NUMBER, frozenset({"DATE", "CARDINAL"}))  # "45 years old" is a DATE in OntoNotes
for _w in ("article", "provision", "clause"):  # "Article 42.7", "Article 5"
    NOUN_TYPES[_w] = (THING, frozenset({"LAW", "CARDINAL"}))
# "how ADJ": how many/much -> number; how long -> a duration (DATE, TIME) or a length (QUANTITY)
HOW_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    **{w: (NUMBER, _N) for w in ("many", "much")},
    **{w: (NUMBER, frozenset({"QUANTITY", "CARDINAL"})) for w in (
        "far", "big", "large", "tall", "high", "heavy", "deep", "wide", "fast", "small", "close", "low")},
    "old": (NUMBER, frozenset({"DATE", "CARDINAL"})),
    "long": (DATE, _D | {"QUANTITY"}),
    **{w: (DATE, _D) for w in ("often", "soon", "early", "late", "frequently")},
    "come": (REASON, frozenset()),
}
WH_TYPES: dict[str, tuple[str, frozenset[str]]] = {
    "who": (PERSON, _P | {"ORG", "NORP"}), "whom": (PERSON, _P | {"ORG", "NORP"}),
    "whose": (PERSON, _P | {"ORG", "NORP"}), "when": (DATE, _D), "where": (PLACE, _L | {"ORG"}),
    "why": (REASON, frozenset()), "whence": (PLACE, _L), "whither": (PLACE, _L),
}
REASON_VERBS = frozenset({"cause", "lead", "prompt", "trigger", "motivate", "drive", "push", "explain"})
COMPARE_WORDS = frozenset({"compare", "comparison", "difference", "versus", "vs", "vs.", "contrast"})
# Verbs that compare when their subject is coordinated: "do A and B agree", "how do A and B describe X".
PERSPECTIVE_VERBS = frozenset({"agree", "disagree", "differ", "describe", "view", "see", "judge", "assess",
                               "portray", "characterize", "characterise", "present", "report", "explain", "treat"})
LIST_VERBS = frozenset({"list", "name", "enumerate", "identify", "give", "mention"})
DESCRIBE_VERBS = frozenset({"describe", "summarize", "summarise", "tell", "explain", "outline"})
KIND_NOUNS = frozenset({"kind", "type", "sort", "form", "one", "ones"})
YES_NO_AUX = frozenset({"be", "do", "have", "can", "could", "will", "would", "should", "shall", "may",
                        "might", "must"})
# "how many/much N": the labels by the counted noun (money is MONEY, years are DATE in OntoNotes)
MEASURE_LABELS: dict[str, frozenset[str]] = {
    **{w: frozenset({"MONEY", "CARDINAL"}) for w in "money dollar euro franc pound rouble ruble".split()},
    **{w: frozenset({"DATE", "TIME", "CARDINAL"}) for w in "year day month week hour minute decade century".split()},
    **{w: frozenset({"PERCENT"}) for w in ("percent", "percentage")},
}
# Verbs whose object is what an act of finding out found, with the nouns made from them ('What did the group
# conclude?' is answered by 'concluded' or 'the conclusion', not by the group's mission): qa.ties.result_verb.
# Not 'find', 'learn', 'notice': what a poll found is usually stated as a plain fact ('In a 2013 poll, 25% of French
# people viewed Russia's influence positively' answers 'What did the 2013 poll find?').
RESULT_VERBS: dict[str, frozenset[str]] = {
    "conclude": frozenset({"conclusion"}), "discover": frozenset({"discovery"}),
    "decide": frozenset({"decision"}), "determine": frozenset({"determination"}),
    "reveal": frozenset({"revelation"}), "detect": frozenset({"detection"}),
    "prove": frozenset({"proof"}), "realise": frozenset({"realisation"}), "realize": frozenset({"realization"}),
}
# Verbs of a beginning: 'When did X begin?' is answered by the date after 'since' ('Since 7500 yr ago, a situation
# ... has existed'), which otherwise only bounds a period (qa.answerability._dated).
BEGIN_VERBS = frozenset({"begin", "start", "commence", "originate"})
