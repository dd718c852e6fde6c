"""Tests for tinyemo_audit.reasoning.mmllm on a tiny random Llama: batch layout, padding, loss, generate."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tinyemo_audit.reasoning.base_llm import load_base
from tinyemo_audit.reasoning.mmllm import IGNORE_INDEX, PromptFormat, ReasoningModel, build_connector
from tinyemo_audit.reasoning.settings import GenerationSettings
from tinyemo_audit.reasoning.templates import inference_templates

CLASSES = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@pytest.fixture(scope="module")
def model(tiny_llama):
    base = load_base(f"llm:{tiny_llama}")
    torch.manual_seed(0)
    connector = build_connector(8, base.hidden_size, 3)
    return ReasoningModel(base.model, base.tokenizer, connector, PromptFormat(**inference_templates()), CLASSES,
                          GenerationSettings(max_new_tokens=6, batch_size=2))


def test_connector_shapes():
    connector = build_connector(5, 7, 3)
    assert connector(torch.zeros(2, 5)).shape == (2, 3, 7)
    layers = [type(m).__name__ for m in connector.proj]
    assert layers == ["Linear", "GELU", "Linear"]


def test_batch_puts_visual_tokens_in_place_and_answers_at_one_position(model):
    features = torch.randn(2, 8).numpy()
    users = [model.format.user_turn(None), model.format.user_turn("happy")]  # prompts of different lengths
    answers = model.answer_ids(["Predicted Label: sad", "Reasoning: x. Predicted Label: happy"])
    inputs = model.batch(features, users, answers)
    before, after = model.prompt_ids(users[1])
    p = len(before) + 3 + len(after)  # the longer prompt fills the prompt block
    mask = inputs["attention_mask"]
    assert inputs["inputs_embeds"].shape[:2] == mask.shape == (2, p + max(map(len, answers)))
    assert mask[1, :p].all() and not mask[0, : p - len(sum(model.prompt_ids(users[0]), [])) - 3].any()
    # The visual slots hold exactly the connector's output.
    visual = model.connector(torch.as_tensor(features))
    slot = p - 3 - len(after)
    assert torch.allclose(inputs["inputs_embeds"][1, slot:slot + 3], visual[1])
    # Answers start at position p in every row; padding is IGNORE_INDEX and masked out.
    assert (inputs["answer"] != IGNORE_INDEX).sum(1).tolist() == [len(a) for a in answers]
    assert mask[:, p:].sum(1).tolist() == [len(a) for a in answers]
    for row in range(2):  # positions count the attended tokens only, from 0
        attended = inputs["position_ids"][row][mask[row].bool()]
        assert attended.tolist() == list(range(int(mask[row].sum())))


def test_padding_never_changes_a_rows_answer_probabilities(model):
    features = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    users = [model.format.user_turn(None), model.format.user_turn("surprise"), model.format.user_turn("sad")]
    answers = model.answer_ids(["Predicted Label: fear", "Reasoning: brows. Predicted Label: surprise", "x"])
    with torch.inference_mode():
        together = model.answer_log_probs(features, users, answers)
        for i in range(3):
            alone = model.answer_log_probs(features[i:i + 1], users[i:i + 1], answers[i:i + 1])
            n = len(answers[i])
            assert torch.allclose(together[i, :n], alone[0, :n], atol=1e-4)
            assert (together[i, n:] == 0).all()


def test_loss_is_the_mean_answer_cross_entropy(model):
    features = np.random.default_rng(2).standard_normal((2, 8)).astype(np.float32)
    users = [model.format.user_turn(None)] * 2
    answers = model.answer_ids(["Predicted Label: fear", "Predicted Label: happy"])
    with torch.inference_mode():
        loss = model.loss(features, users, answers)
        log_probs = model.answer_log_probs(features, users, answers)
    assert torch.isclose(loss, -log_probs.sum() / sum(map(len, answers)), atol=1e-5)


def test_generate_is_batched_greedy_and_deterministic(model):
    features = np.random.default_rng(3).standard_normal((5, 8)).astype(np.float32)
    hints = [None, "happy", None, "sad", None]
    first = model.generate(features, hints)
    again = model.generate(features, hints, GenerationSettings(max_new_tokens=6, batch_size=5))
    assert [g.text for g in first] == [g.text for g in again]
    assert all(1 <= g.n_tokens <= 6 for g in first)
    single = model.generate(features[:1], hints[:1])
    assert single[0].text == first[0].text


def test_generate_refuses_features_of_another_size(model):
    from tinyemo_audit.errors import InputError

    with pytest.raises(InputError, match="dimension 8"):
        model.generate(np.zeros((1, 9), np.float32), [None])


def test_score_ranks_the_trained_continuation_higher_after_a_few_steps(model):
    """A handful of steps on one answer make it likelier than an untrained one (the scorer moves)."""
    torch.manual_seed(1)
    model = ReasoningModel(model.llm, model.tokenizer, build_connector(8, model.connector.d_llm, 3), model.format,
                           CLASSES)
    features = np.random.default_rng(4).standard_normal((1, 8)).astype(np.float32)
    target, other = "Predicted Label: happy", "Predicted Label: angry"
    before = model.score(features, [None], [target])[0] - model.score(features, [None], [other])[0]
    optimizer = torch.optim.AdamW(model.connector.parameters(), lr=1e-2)
    for _ in range(15):
        loss = model.loss(features, [model.format.user_turn(None)], model.answer_ids([target]))
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    after = model.score(features, [None], [target])[0] - model.score(features, [None], [other])[0]
    assert after > before


def test_to_moves_the_model_and_its_inputs_follow_it(model):
    from tinyemo_audit.devices import use_device

    with use_device("auto") as device:  # auto: the CPU on a machine without a GPU
        assert model.to(device) is model and model.device == torch.device(device)
        assert next(model.llm.parameters()).device == model.device
        inputs = model.batch(np.zeros((1, 8), np.float32), [model.format.user_turn(None)])
        assert {t.device for t in inputs.values()} == {model.device}
        assert isinstance(model.score(np.zeros((1, 8), np.float32), [None], ["Predicted Label: sad"]), np.ndarray)
