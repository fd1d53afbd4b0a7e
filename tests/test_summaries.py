"""Blurbs: whole sentences from the article within the budget, standfirsts judged, a model-backed option."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from newsletter.compose.issuefile import Budget
from newsletter.compose.settings import SummarySettings
from newsletter.compose.summarize import STOPWORDS, article_stopwords, split_sentences, summarize, terms
from newsletter.compose.summarize_llm import ChatSummarizer, summarizer_for
from newsletter.sources.article import Article, Block
from tests.conftest import EXAMPLE_ISSUE, benchmark_module

evaluation = benchmark_module("eval_summaries")

PARAGRAPHS = [
    "The river trust planted four hundred willow whips along the eroded bank below the mill this winter.",
    "Willow roots bind loose soil quickly, so the bank should hold against next year's floods.",
    "Volunteers from three villages spent two cold Saturdays pushing the cuttings into the mud by hand.",
    "The trust will count how many willow whips have rooted when the leaves open in April.",
    "If most have taken, the same method will be used on the eroded bank upstream of the weir.",
]


def article(paragraphs: list[str] = PARAGRAPHS, description: str | None = None, title: str = "Willows hold the river bank") -> Article:
    return Article(source="river.txt", title=title, blocks=tuple(Block("paragraph", p) for p in paragraphs),
                   description=description)


def in_article(summary: str, source: Article) -> list[str]:
    sentences = split_sentences(summary)
    for sentence in sentences:
        assert any(sentence in paragraph for paragraph in source.prose), f"not a whole sentence of the article: {sentence!r}"
    return sentences


# Sentences and budgets

def test_a_line_break_after_a_full_stop_ends_the_sentence() -> None:
    text = 'Revenues grew 6.4% to $42.09bn.\n"Our performance was strong," the chairman said.'
    assert split_sentences(text) == ["Revenues grew 6.4% to $42.09bn.", '"Our performance was strong," the chairman said.']
    assert split_sentences("A sentence wrapped\nacross two lines stays whole.") == ["A sentence wrapped\nacross two lines stays whole."]


@pytest.mark.parametrize("text", [
    "Die Stadt schließt die Impfzentren am 28. Februar in allen drei Einkaufszentren.",
    "Anlässlich des 400. Jahrestages der Ankunft erscheint das Buch nun auch auf Deutsch.",
    "Ab 22. November bleiben Gottesdienste unter strengen Auflagen möglich.",
    "Im 17. und 18. Jahrhundert wurden die Märkte der Welt erschlossen.",
])
def test_a_german_ordinal_does_not_end_the_sentence(text: str) -> None:
    assert split_sentences(f"{text} Davon betroffen sind viele.") == [text, "Davon betroffen sind viele."]


def test_a_sentence_ending_in_a_number_or_a_year_still_ends() -> None:
    assert split_sentences("The final score was 3. Then we went home.") == ["The final score was 3.",
                                                                            "Then we went home."]
    assert split_sentences("Er wurde 1956 geboren. Danach zog er nach Berlin.") == ["Er wurde 1956 geboren.",
                                                                                    "Danach zog er nach Berlin."]


@pytest.mark.parametrize("budget", [Budget(1, 0), Budget(2, 0), Budget(0, 40), Budget(3, 35)])
def test_blurb_is_whole_sentences_within_the_budget(budget: Budget) -> None:
    source = article()
    summary = summarize(source, budget)
    sentences = in_article(summary, source)
    assert 1 <= len(sentences) <= (budget.sentences or len(PARAGRAPHS))
    assert len(summary.split()) <= (budget.words or 10**6)


def test_no_sentence_fits_the_word_budget_gives_no_blurb_rather_than_a_cut_one() -> None:
    assert summarize(article(), Budget(3, 8)) == ""


def test_a_sentence_repeating_one_already_chosen_is_passed_over() -> None:
    repeated = "The river trust planted four hundred willow whips along the eroded bank below the old mill this winter."
    summary = summarize(article([*PARAGRAPHS[:2], repeated, *PARAGRAPHS[2:]]), Budget(2, 0))
    assert len(in_article(summary, article([*PARAGRAPHS, repeated]))) == 2
    assert not (PARAGRAPHS[0] in summary and repeated in summary)


@pytest.mark.parametrize("furniture", [
    "Discover our online shop for willow hurdles, garden trellis and much more today.",
    "Sign up to our newsletter to hear about the river bank and its willow whips.",
    "Read more about the river trust and its willow whips at www.example.org/willows.",
    "Why do willow whips hold an eroded river bank so much better than grass?",
    "Willow whips are amazing and the eroded river bank will love them so much!",
    "Entdecken Sie unseren Online-Shop für Weidenzäune, Rankgitter und vieles mehr für Ihren Garten.",
    "Jetzt kostenlos anmelden und jede Woche alles über das Flussufer und seine Weidenruten erfahren.",
    "Abonnieren Sie unseren Newsletter, um mehr über das Flussufer und seine Weidenruten zu erfahren.",
    "Dieser Artikel enthält Partnerlinks zu Händlern, die Weidenruten für das Flussufer verkaufen.",
    "Découvrez notre boutique en ligne de clôtures en osier et de treillis pour le jardin au bord de l'eau.",
    "Suscríbete a nuestro boletín para saber más sobre la orilla del río y sus varas de sauce.",
    "Copyright © 2018 by the river trust, which planted the willow whips along the eroded river bank.",
    "The river trust planting willow whips along the eroded river bank last winter (Foto: Anna Beispiel).",
])
def test_calls_to_action_questions_and_exclamations_are_never_chosen(furniture: str) -> None:
    source = article([PARAGRAPHS[0], furniture, *PARAGRAPHS[1:]])
    summary = summarize(source, Budget(0, 0))
    assert len(in_article(summary, source)) == len(PARAGRAPHS)
    assert furniture not in summary


# Standfirsts (the article's own description)

FAITHFUL = "Volunteers planted willow whips to hold the eroded river bank against floods."


def test_a_faithful_standfirst_opens_the_blurb() -> None:
    summary = summarize(article(description=FAITHFUL), Budget(2, 80))
    assert summary.startswith(FAITHFUL + " ")
    assert len(split_sentences(summary)) == 2


def test_a_standfirst_that_is_also_the_first_paragraph_is_quoted_once() -> None:
    source = article([FAITHFUL, *PARAGRAPHS], description=FAITHFUL)
    summary = summarize(source, Budget(3, 80))
    assert summary.count(FAITHFUL) == 1 and summary.startswith(FAITHFUL)
    assert len(in_article(summary, source)) == 3


@pytest.mark.parametrize("description", [
    "Northwind Gardens has grown food and friendship in Leeds since 1982.",  # the site's tagline, not the article
    "Volunteers planted willow whips to hold the eroded river bank against floods",  # no full stop: not invented
    "Volunteers planted willow whips to hold the eroded river bank against floods and…",  # cut short
    FAITHFUL + " " + FAITHFUL.replace("Volunteers", "Villagers") + " " + FAITHFUL.replace("Volunteers", "Neighbours"),  # over budget
])
def test_a_standfirst_that_is_no_faithful_summary_is_not_quoted(description: str) -> None:
    source = article(description=description)
    summary = summarize(source, Budget(2, 80))
    assert summary.split(". ")[0] not in description
    assert len(in_article(summary, source)) == 2


# The evaluation set (the full figures: python benchmarks/eval_summaries.py)

def test_summaries_beat_the_lead_baseline_on_part_of_the_bbc_set(shared_dir: Path) -> None:
    cases = evaluation.load_cases(shared_dir / "eval" / "bbc-summaries")[::4]
    assert len(cases) == 15
    ours = [evaluation.precision(evaluation.summary_sentences(case, 3), case.reference, 3) for case in cases]
    lead = [evaluation.precision(evaluation.lead_sentences(case, 3), case.reference, 3) for case in cases]
    assert sum(ours) / len(cases) >= 0.7 and sum(ours) > sum(lead) + 0.1 * len(cases), (ours, lead)
    for case in cases:
        assert set(evaluation.summary_sentences(case, 3)) <= set(case.sentences), case.name


# The model-backed summariser, against a real chat-completions server on 127.0.0.1

@dataclass
class ChatStub:
    """Answers POST /v1/chat/completions with ``reply`` (text or a status code), after ``delay`` seconds."""

    reply: str | int = "1"
    delay: float = 0.0
    requests: list[dict] = field(default_factory=list)
    url: str = ""

    def numbered(self, request: dict) -> dict[int, str]:
        """The sentences the request offered, by number."""
        lines = request["body"]["messages"][1]["content"].split("\n\n", 1)[1].splitlines()
        return {int(number): text for number, _, text in (line.partition(". ") for line in lines)}


@pytest.fixture
def chat() -> ChatStub:
    stub = ChatStub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            stub.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            time.sleep(stub.delay)
            if isinstance(stub.reply, int):
                status, payload = stub.reply, b'{"error": "overloaded"}'
            else:
                status, payload = 200, json.dumps({"choices": [{"message": {"role": "assistant", "content": stub.reply}}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    yield stub
    server.shutdown()
    server.server_close()


def test_extractive_unless_a_model_is_configured() -> None:
    assert summarizer_for(SummarySettings()) is summarize
    assert isinstance(summarizer_for(SummarySettings(llm_url="http://127.0.0.1:9/v1")), ChatSummarizer)


def test_model_picks_sentences_and_the_blurb_quotes_them_in_article_order(chat: ChatStub, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_LLM_API_KEY", "sk-test-secret")
    chat.reply = "4, 2"
    summarize_with_model = summarizer_for(SummarySettings(llm_url=chat.url, llm_model="tiny-model"))
    summary = summarize_with_model(article(), Budget(2, 80))
    assert summary == f"{PARAGRAPHS[1]} {PARAGRAPHS[3]}"
    [request] = chat.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer sk-test-secret"
    assert request["body"]["model"] == "tiny-model"
    assert "at most 2 sentences, at most 80 words" in request["body"]["messages"][0]["content"]
    assert chat.numbered(request) == dict(enumerate(PARAGRAPHS, start=1))


@pytest.mark.parametrize("budget, kept", [(Budget(2, 0), [0, 4]), (Budget(0, 34), [2, 4])])
def test_model_picks_beyond_the_budget_are_dropped_least_important_first(chat: ChatStub, budget: Budget,
                                                                         kept: list[int]) -> None:
    chat.reply = "Sentences 5, 1 and 3."  # 18, 17 and 16 words
    assert ChatSummarizer(chat.url)(article(), budget) == " ".join(PARAGRAPHS[i] for i in kept)


@pytest.mark.parametrize("reply, reason", [
    (500, "HTTP 500"),
    ("The article is about willows.", "no usable sentence numbers"),
    ("99", "no usable sentence numbers"),
])
def test_any_model_failure_falls_back_to_the_extractive_blurb(chat: ChatStub, reply: str | int, reason: str,
                                                              caplog, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_LLM_API_KEY", "sk-test-secret")
    chat.reply = reply
    summary, made_by = summarizer_for(SummarySettings(llm_url=chat.url)).blurb(article(), Budget(2, 80))
    assert (summary, made_by) == (summarize(article(), Budget(2, 80)), "extractive")
    assert len(chat.requests) == 1
    assert reason in caplog.text and "river.txt" in caplog.text
    assert "sk-test-secret" not in caplog.text


def test_a_server_that_does_not_answer_in_time_is_asked_once_per_run(chat: ChatStub, caplog) -> None:
    chat.delay = 0.6
    summarize_with_model = ChatSummarizer(chat.url, timeout=0.2)
    for _ in range(2):
        assert summarize_with_model(article(), Budget(2, 80)) == summarize(article(), Budget(2, 80))
    assert len(chat.requests) == 1
    assert "unreachable (ReadTimeout)" in caplog.text


def test_no_server_listening_falls_back(caplog) -> None:
    summary = ChatSummarizer("http://127.0.0.1:9/v1", timeout=2)(article(), Budget(2, 80))
    assert summary == summarize(article(), Budget(2, 80))
    assert "unreachable (ConnectError)" in caplog.text


def test_build_uses_the_model_configured_in_newsletter_toml(workspace: Path, chat: ChatStub, cli, monkeypatch) -> None:
    monkeypatch.setenv("NEWSLETTER_LLM_API_KEY", "sk-test-secret")
    chat.reply = "2, 1"
    settings = workspace / "newsletter.toml"
    settings.write_text(settings.read_text().replace("[summary]\n", f'[summary]\nllm_url = "{chat.url}"\nllm_timeout = 5\n'))
    result = cli("build", EXAMPLE_ISSUE)
    assert result.code == 0, result.err
    issue = json.loads((workspace / "build" / EXAMPLE_ISSUE / "issue.json").read_text())
    entries = [entry for section in issue["sections"] for entry in section["articles"]]
    by_model = sorted(f"{offered[1]} {offered[2]}" for offered in map(chat.numbered, chat.requests))
    assert sorted(e["summary"] for e in entries if e["summary_by"] != "editor") == by_model
    assert sorted(e["summary_by"] for e in entries) == ["editor", "model", "model", "model"]
    assert len(chat.requests) == 3  # the fourth article has the editor's own blurb, which wins
    assert "sk-test-secret" not in result.out + result.err


def test_an_articles_own_function_words_say_nothing_of_what_a_sentence_is_about() -> None:
    german = Article(source="a.txt", title="Das größte Kraftwerk", blocks=(Block("paragraph", (
        "Das größte Kraftwerk der Welt steht in der Wüste und liefert nun den Strom für die Stadt. "
        "Die Anlage ist seit dem Winter in Betrieb, und sie wird noch weiter ausgebaut werden.")),))
    words = terms("Das Kraftwerk und die Wüste für den Strom", article_stopwords(german))
    assert set(words) == {"kraftwerk", "wüste", "strom"}
    english = article([PARAGRAPHS[0]])
    assert article_stopwords(english) is STOPWORDS  # the list tuned on the BBC set


@pytest.mark.parametrize(("sentence", "whole"), [
    ("Most of them have rooted already and will be checked again in May,” the warden said on Monday.", False),
    ("The warden said on Monday: \"Most of them have rooted already and will be checked again in May.", False),
    ("Die meisten haben schon Wurzeln geschlagen und werden im Mai geprüft“, sagte der Vorsitzende am Montag.", False),
    ("The warden said \"most of them have rooted already\" and will check them again in May.", True),
    ("Der Vorsitzende sagte, „die meisten haben schon Wurzeln geschlagen“ und würden im Mai geprüft.", True),
    ("The warden said “most of them have rooted already” and will check them again in May.", True),
])
def test_half_of_a_quotation_is_never_chosen_and_a_whole_one_may_be(sentence: str, whole: bool) -> None:
    source = article([PARAGRAPHS[0], sentence, *PARAGRAPHS[1:]])
    summary = summarize(source, Budget(0, 0))
    assert (sentence in summary) is whole
    assert len(in_article(summary, source)) == len(PARAGRAPHS) + whole
