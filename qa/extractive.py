"""The offline extractive generator: answers with verbatim sentences of the retrieved chunks.

Each sentence of the retrieved chunks is scored against the question by
  - semantic similarity (cosine of the embedding model's vectors of query and sentence),
  - lexical coverage (share of the query's content words the sentence contains, proper names weigh more),
  - answer-type evidence (a "when" question wants a date, "how many" a number, "who" a name, "why" a reason),
  - a small prior for the chunk's retrieval rank.
The best one to three non-redundant sentences are returned verbatim (``qa.quoting`` picks and orders them), each
followed by its chunk's marker; ``qa.cite`` then turns the markers into exact citations. A date question ("when",
"what year") whose chosen sentences place nothing in time also gets the article's dateline (or a dated sentence of
the same article) as a separately cited line. When the best score is below the refusal threshold, the generator
says the articles don't say, and cites nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from embeddings.types import Hit
from qa import (
    answerability,
    authors,
    conflict_text,
    date_clauses,
    dated_nouns,
    event_times,
    gloss,
    lexical,
    nominals,
    quoting,
    reasons,
    refusal_text,
    relations,
    roles,
    sentence_features,
    stated,
    stated_ties,
)
from qa.analysis import Entity, QuestionAnalysis
from qa.answer_types import DATE
from qa.config import AnswerSettings
from qa.consequences import with_consequence
from qa.evidence import Evidence, Sentence
from qa.generate import GenerationRequest, Generator
from qa.prompts import CANNOT_ANSWER_PHRASE
from qa.quoting import SHORT_WORDS, TERMINAL, Scored
from qa.role_names import with_names

REFUSAL_TEXT = (
    f"{CANNOT_ANSWER_PHRASE}: none of the retrieved passages answers this question. "
    "The closest passages are listed below."
)

# Weights of the score's parts, tuned on evals/sets/seed_dev.jsonl (re-measure with `citeqa eval` after a change).
W_SEMANTIC = 0.55
W_LEXICAL = 0.35
W_TYPE = 0.12
W_RANK = 0.04


@dataclass(frozen=True)
class Plan:
    """What the extractive generator answers with.

    Attributes:
        chosen: the sentences to quote, best first (empty when refusing).
        confidence: the decision score compared with ``refusal_threshold``: the cosine of the query and the best
            sentence, or, for a refusal by the question's analysis, at most the threshold less
            ``answerability.REFUSAL_MARGIN`` (see ``ExtractiveGenerator._plan_by_analysis``).
        short: the answer's words in ``chosen[0]`` (offsets into its text), or None.
        missing: for a refusal: what the articles don't say (``refusal_text.missing``), None when it cannot be said
            plainly (then the refusal says no passage answers).
        closest: for a refusal by the question's analysis: the sentence that comes closest, quoted in the refusal.
        unmet: the question's names and dates ``closest`` does not mention, said in the refusal.
        about: ``closest`` mentions what the question asks about: the refusal says what "they say" about it.
        differs: how ``closest`` differs from the question (``relations.Mismatch.describe``), said instead of unmet.
        conflict: a sentence of another article that gives a different value of the asked type for the same thing
            (``answerability.find_conflict``), and that value (offsets into its text): the answer states both.
    """

    chosen: list[Scored]
    confidence: float
    short: Entity | None = None
    missing: str | None = None
    closest: Scored | None = None
    unmet: tuple[str, ...] = ()
    about: bool = False
    differs: str | None = None
    conflict: tuple[Scored, Entity] | None = None  # another article's different value, stated before its sentence


class ExtractiveGenerator(Generator):
    """Deterministic, offline answers made of verbatim source sentences (registered as ``extractive``).

    Args:
        settings: refusal threshold and the most sentences to quote.

    Example::

        gen = ExtractiveGenerator(AnswerSettings())
        chosen, confidence = gen.select("Where did Macron receive Putin?", hits, evidence)
    """

    name = "extractive"

    def __init__(self, settings: AnswerSettings) -> None:
        self.settings = settings

    def score(
        self,
        question: str,
        hits: Sequence[Hit],
        evidence: Evidence,
        *,
        query: str | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
    ) -> list[Scored]:
        """All sentences of the hits (read from ``evidence``), best first (a sentence in two overlapping chunks
        counts once).

        A follow-up wants something new: sentences the previous answer already quoted, or said again in its own words
        (``reasons.restates``), rank lower.
        """
        query = query or question
        said = " ".join(
            " ".join(t["content"].split()) for t in (history or [])[-2:] if t.get("role") == "assistant"
        )
        said_terms = reasons.said_terms(said)
        seen: set[tuple[str, int, int]] = set()
        cands: list[tuple[int, Sentence]] = []
        for i, hit in enumerate(hits, start=1):
            for s in evidence.sentences(hit):
                key = (s.doc_id, s.start, s.end)
                if key not in seen:
                    seen.add(key)
                    cands.append((i, s))
        if not cands:
            return []
        # A follow-up is also weighed against the conversation's question it continues: the resolved query can be
        # short ('What changed in 1899?') where the sentence answering it is about the earlier question's subject.
        asked_before = [t["content"] for t in (history or []) if t.get("role") == "user"][-1:]
        context = [f"{asked_before[0]} {question}"] if asked_before and query != question else []
        vecs = evidence.embed([query, *context] + [s.text for _, s in cands])
        sentence_vecs = vecs[1 + len(context):]
        sims = sentence_vecs @ vecs[0]
        relevance = np.maximum(sims, sentence_vecs @ vecs[1]) if context else sims
        qtype = lexical.question_type(question)
        qnames = lexical.name_tokens(query)
        terms = sentence_features.query_terms(query)
        scored = []
        for (hit_no, s), sim, relevant in zip(cands, sims, relevance, strict=True):
            n_words = len(s.text.split())
            penalty = 0.0
            if n_words < SHORT_WORDS:
                penalty += 0.15
            if not TERMINAL.search(s.text):
                penalty += 0.1  # headings, datelines and captions are not answers
            if s.text.rstrip().endswith("?"):
                penalty += 0.15  # rhetorical questions don't answer anything
            if said and (" ".join(s.text.split()) in said or reasons.restates(s.text, said_terms)):
                penalty += 0.2  # said already, word for word or in the answer's own words: something new is wanted
            total = (
                W_SEMANTIC * float(sim)
                + W_LEXICAL * sentence_features.lexical_coverage(terms, s.text)
                + W_TYPE * sentence_features.type_evidence(qtype, s.text, qnames)
                + W_RANK / hit_no
                - penalty
            )
            scored.append(Scored(hit_no, s, total, float(relevant)))
        scored.sort(key=lambda x: -x.score)
        return scored

    def select(
        self,
        question: str,
        hits: Sequence[Hit],
        evidence: Evidence,
        *,
        query: str | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
    ) -> tuple[list[Scored], float]:
        """The sentences to answer with (empty when refusing) and the confidence (cosine of the best sentence)."""
        plan = self.plan(question, hits, evidence, query=query, history=history)
        return plan.chosen, plan.confidence

    def plan(
        self,
        question: str,
        hits: Sequence[Hit],
        evidence: Evidence,
        *,
        query: str | None = None,
        history: Sequence[Mapping[str, str]] | None = None,
    ) -> Plan:
        """What to answer with: the sentences, the short answer in the first, or what is missing (a refusal).

        Once decided, an answer also quotes sentences a little below its first (``quoting.widened``), the sentence
        that continues its first one (``quoting.with_continuation``) and, for a
        why-question, the sentence of that paragraph that gives the reason (``reasons.with_reason``), and for a
        'which <role>' question the next sentence naming the people asked for (``role_names.with_names``); those
        play no part in deciding whether to answer."""
        scored = self.score(question, hits, evidence, query=query, history=history)
        plan = self._decide(question, scored, evidence, query=query, history=history)
        if plan.conflict is None:  # a refusal, or an answer stating two articles' different values, is left as it is
            plan = replace(plan, chosen=quoting.widened(plan.chosen, scored, evidence, self.settings.max_sentences))
        plan = replace(plan, chosen=quoting.with_continuation(plan.chosen, scored, evidence))
        chosen = reasons.with_reason(query or question, plan.chosen, scored, evidence)
        chosen = with_consequence(query or question, chosen, scored, evidence, keep_first=plan.short is not None)
        return replace(plan, chosen=with_names(query or question, chosen, scored, evidence))

    def _decide(
        self,
        question: str,
        scored: list[Scored],
        evidence: Evidence,
        *,
        query: str | None,
        history: Sequence[Mapping[str, str]] | None,
    ) -> Plan:
        """The plan before any continuation is added: answer (with which sentences) or refuse."""
        confidence = scored[0].similarity if scored else float("-inf")
        if not scored:
            return Plan([], confidence)
        if self.settings.answerability and (by := authors.stated_author(query or question, scored, evidence)):
            floor = self.settings.refusal_threshold  # qa.authors: the byline answers, or the article names no author
            return Plan([by[0]], max(confidence, floor), short=by[1]) if by[0] else Plan(
                [], min(confidence, floor - answerability.REFUSAL_MARGIN),
                missing=self._plain_missing(query or question))
        if scored[0].similarity < self.settings.refusal_threshold:
            return self._rescue(question, query, history, scored, evidence) or Plan(
                [], confidence, missing=self._plain_missing(query or question))
        chosen = self._support(scored, evidence)
        if lexical.question_type(question) == "date" and not any(lexical.pins_date(c.sentence.text) for c in chosen):
            chosen = quoting.with_date(evidence, chosen, scored, self.settings.max_sentences)
        if self.settings.answerability:  # a follow-up: the resolved, standalone question
            return self._plan_by_analysis(answerability.analyze(query or question), scored, chosen, evidence)
        return Plan(chosen, confidence)

    def _plan_by_analysis(self, analysis: QuestionAnalysis, scored: list[Scored], chosen: list[Scored],
                          evidence: Evidence) -> Plan:
        """Answer or refuse by the question's analysis (``answer.answerability``).

        The plan's confidence is the decision score, and the answer is refused exactly when it is below
        ``refusal_threshold``. The score is the best sentence's cosine (the similarity rule) unless the analysis
        refuses; a refusal by analysis reports ``min(cosine - NO_ANSWER_PENALTY, threshold - REFUSAL_MARGIN)``
        (see ``qa.answerability``), so "refused iff confidence < threshold" holds for every answer and refusals
        by analysis sort below the ones by similarity in the eval's refusal curve. The analysis refuses:
          - an entity question (name, place, date, number) no sentence near the top holds a candidate for: none
            of the expected type that the question does not give, tied to its role or focus, in a sentence whose
            years do not contradict the question's (``answerability.find_answer``), nor a little further down;
          - 'how many N' with no number near the top when the best sentence does not mention N either;
          - any question whose chosen sentences all date things by other years than the one it asks about, or
            swap a word it gives; or whose first one, or one above its candidate, swaps it (``qa.relations``);
          - a question asking what an act of finding out found ('What did the group conclude?') whose chosen
            sentences never say it with that verb or its noun (``answerability.unstated_result``).
        Each refusal says what is missing (and the question's names or dates the closest sentence lacks), quoting it.
        """
        threshold = self.settings.refusal_threshold
        confidence = scored[0].similarity
        refused = min(confidence - answerability.NO_ANSWER_PENALTY, threshold - answerability.REFUSAL_MARGIN)

        def refuse(closest: Scored, unmet: Sequence[str] = ()) -> Plan:  # what is missing, how closest differs
            return Plan([], refused, closest=closest, **refusal_text.said(analysis, closest.sentence.text, unmet))

        if answerability.unstated_result(analysis, [c.sentence.text for c in chosen]) is not None:
            return refuse(scored[0])

        if analysis.expects_entity:
            sentences, scores = [c.sentence for c in scored], [c.score for c in scored]
            found = answerability.find_answer(analysis, sentences, scores, evidence,
                                              margin=self.settings.answer_margin)
            best = scored[0].sentence
            if found is None and (event := event_times.event_answer(analysis, best, evidence)) is not None:
                return Plan(self._support(scored, evidence), confidence, short=event)  # qa.event_times
            if (found is not None and found.index != 0 and analysis.answer_type == DATE
                    and not lexical.pins_date(best.text) and evidence.dateline(best.doc_id) is not None):
                # a report of the best sentence's article is dated by its dateline ('are visiting Moscow' on
                # '9 Sep, 2019'), not by a date another sentence gives for something else: answered as without
                # the analysis, the dateline quoted after the best sentence
                return Plan(quoting.with_date(evidence, chosen, scored, self.settings.max_sentences), confidence)
            if found is not None and (relations.outranked(analysis.question, sentences, found.index)
                                      or roles.outranked(analysis.question, sentences, found.index)):
                return refuse(scored[0])  # 'Cologne' for 'the shortest river' below 'the longest river'
            if found is not None:
                first = scored[found.index]
                rest = [c for i, c in enumerate(scored) if i != found.index]
                chosen = self._support([first, *rest], evidence)
                other = answerability.find_conflict(analysis, found, sentences, scores, evidence,
                                                    margin=self.settings.answer_margin)
                if other is None:
                    return Plan(chosen, confidence, short=found.entity)
                second = scored[other.index]
                chosen = [first, second, *[c for c in chosen[1:] if c is not second]][: max(2, len(chosen))]
                return Plan(chosen, confidence, short=found.entity, conflict=(second, other.entity))
            # a date question answered by the article's dateline or a close dated sentence of it: as before
            dated = analysis.answer_type == DATE and any(lexical.pins_date(c.sentence.text) for c in chosen) and (
                not answerability.asks_bound(analysis))  # 'since when': a dateline gives no beginning
            further = answerability.find_answer(analysis, sentences, scores, evidence,
                                                margin=2 * self.settings.answer_margin)
            best_unmet = answerability.unmet(analysis, scored[0].sentence.text)
            if answerability.can_refuse(analysis):
                # a candidate a little further down (within twice the margin), in a sentence about the question,
                # leaves the answer in doubt
                if not dated and (further is None or not answerability.about_question(
                        analysis, sentences[further.index].text)):
                    return refuse(scored[0], best_unmet)
                if date_clauses.undated(analysis, [c.sentence.text for c in chosen]):  # no date of its event
                    return refuse(scored[0], best_unmet)
            elif answerability.counted_noun(analysis) and further is None and analysis.focus_head in {
                    u.lower() for u in best_unmet}:
                return refuse(scored[0], best_unmet)
        # clause answers, and entity questions left to the threshold: judged on the sentences quoted
        if relations.opens_with_swap(analysis.question, chosen[0].sentence.text) or all(
                relations.answers_nothing(analysis, c.sentence.text) for c in chosen):  # all: years, swaps
            return refuse(scored[0], answerability.unmet(analysis, scored[0].sentence.text))
        return Plan(chosen, confidence)

    def _rescue(
        self,
        question: str,
        query: str | None,
        history: Sequence[Mapping[str, str]] | None,
        scored: list[Scored],
        evidence: Evidence,
    ) -> Plan | None:
        """With answerability, a follow-up the similarity rule alone would refuse, answered when the analysis of its
        resolved question vouches for a sentence: one near the top holds a candidate of the expected type, tied to
        the question's focus and role, mentioning every name, date and place the question gives, its years not
        contradicting the question's. Its decision score is the cosine plus ``answerability.FOLLOWUP_BONUS``.

        Only follow-ups: their resolved question is short ('What changed in 1899?') and shares little with the
        sentence that answers it, so the cosine underrates them; on questions asked in full (SQuAD 2.0) the same
        rule answered more unanswerable questions (22 of 320) than it saved answerable ones (12 of 386). None when
        the analysis does not vouch or the bonus does not reach the threshold. A question asked in full goes to
        the stricter ``_stated`` instead.
        """
        if self.settings.answerability and not history:
            return self._stated(query or question, scored, evidence) or self._by_noun(query or question, scored,
                                                                                     evidence)
        decision = scored[0].similarity + answerability.FOLLOWUP_BONUS
        if not self.settings.answerability or not history or decision < self.settings.refusal_threshold:
            return None
        analysis = answerability.analyze(query or question)
        if not analysis.expects_entity:
            return None
        found = answerability.find_answer(analysis, [c.sentence for c in scored], [c.score for c in scored], evidence,
                                          margin=self.settings.answer_margin)
        if found is None or found.missing:
            return None
        first = scored[found.index]
        rest = [c for i, c in enumerate(scored) if i != found.index]
        return Plan(self._support([first, *rest], evidence), decision, short=found.entity)

    def _stated(self, question: str, scored: list[Scored], evidence: Evidence) -> Plan | None:
        """A question asked in full the similarity rule alone would refuse, answered when its best sentence states
        the answer the way the question asks it (``qa.stated``: the role as the name's title, the number before the
        counted noun, the date on a thing the question names) and passes every check that refuses unanswerable
        questions. Its decision score is the cosine plus ``stated.STATED_BONUS``; None when that does not reach the
        threshold or the sentence does not state it so."""
        decision = scored[0].similarity + stated.STATED_BONUS
        if (g := gloss.gloss_answer(question, scored[0].sentence.text, [c.sentence.text for c in scored[1:]])):
            return Plan(self._support(scored, evidence), max(decision, self.settings.refusal_threshold), short=g)
        if decision < self.settings.refusal_threshold:
            return None
        analysis = answerability.analyze(question)
        if not analysis.expects_entity:
            return None
        best = scored[0].sentence
        found = stated.stated_answer(
            analysis, best, answerability.stated_candidates(analysis, best, evidence.entities([best])[0]), evidence)
        found = found or event_times.event_answer(analysis, best, evidence)
        return None if found is None else Plan(self._support(scored, evidence), decision, short=found)

    def _by_noun(self, question: str, scored: list[Scored], evidence: Evidence) -> Plan | None:
        """A question asked in full whose verb a sentence says as a noun, the asked thing in its role ("the outbreak
        of the euro crisis in 2009" for "What crisis broke out in 2009?", ``nominals.stated_event``), answered from
        that sentence below the threshold; likewise a tie between people said plainly (``stated_ties``) and the date
        of an event's noun (``dated_nouns``). Its decision score is the sentence's cosine plus ``stated.STATED_BONUS``,
        at least the threshold: it answers."""
        sentences = [c.sentence for c in scored]  # also a tie between people said plainly, or an event's noun dated
        found = (nominals.stated_event(question, sentences, evidence) or dated_nouns.dated_event(question, sentences)
                 or stated_ties.stated_tie(question, sentences, evidence))  # 'the death of Augustus in AD 14'
        if found is None:
            return None
        first = scored[found[0]]
        rest = [c for c in scored if c is not first]
        score = max(first.similarity + stated.STATED_BONUS, self.settings.refusal_threshold)
        return Plan(self._support([first, *rest], evidence), score, short=found[1])

    def _plain_missing(self, question: str) -> str | None:
        """With answerability, what a refusal by the similarity threshold says is missing, when that can be said
        plainly ('who won the 2018 World Cup'; ``refusal_text.plain_missing``); else None."""
        if not self.settings.answerability:
            return None
        return refusal_text.plain_missing(answerability.analyze(question))

    def _support(self, scored: list[Scored], evidence: Evidence) -> list[Scored]:
        """The first sentence and the non-redundant ones scoring close to it (``quoting.support``)."""
        return quoting.support(scored, evidence, self.settings.max_sentences)

    def generate(self, request: GenerationRequest) -> Iterator[str]:
        """Yield the answer sentence by sentence, each followed by its chunk marker [n]: the short answer first
        when there is one (when another article gives a different value: "The articles differ: one says A [1];
        another says B [2]." before the sentences giving them), or a refusal that says what is missing and quotes the
        closest sentence."""
        plan = self.plan(
            request.question, request.hits, request.evidence, query=request.query, history=request.history
        )
        if np.isfinite(plan.confidence):
            request.report["confidence"] = float(plan.confidence)
        if plan.missing is not None and not plan.chosen:
            c = plan.closest
            yield refusal_text.refusal(plan.missing, None if c is None else c.sentence.text, None if c is None else
                                       c.hit_no, unmet=plan.unmet, about=plan.about, differs=plan.differs)
            return
        if not plan.chosen:
            yield REFUSAL_TEXT
            return
        if plan.short is not None:
            first = plan.chosen[0]
            short = first.sentence.text[plan.short.start : plan.short.end]
            if plan.conflict is not None:
                # the articles give different values: say so, each value cited to the article that gives it (qa.cite
                # checks each value in its own quote), then the sentences they come from
                second, other = plan.conflict
                value = second.sentence.text[other.start : other.end]
                yield conflict_text.sentence([(short, first.hit_no), (value, second.hit_no)])
            else:
                # its own claim, cited through the chunk of the sentence it comes from (qa.cite quotes that sentence)
                yield f"{short} [{first.hit_no}]."
        for i, c in enumerate(plan.chosen):
            text = " ".join(c.sentence.text.split())
            yield ("" if i == 0 and plan.short is None else " ") + f"{text} [{c.hit_no}]"
