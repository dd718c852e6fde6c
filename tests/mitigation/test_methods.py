"""The methods read what `mitigate` hands them: prompt-projection's term pairs come from the audit settings (--config)."""

from tinyemo_audit.mitigation._methods import Plan, prompt_projection
from tinyemo_audit.model.bundle import load_bundle

# one emotion template and one neutral template instead of the default four and three
TWO_TEMPLATES = """text_probes:
  templates: ["a photo of a {emotion} {group}"]
  neutral_templates: ["a photo of a {group}"]
"""


def test_prompt_projection_uses_the_term_pairs_of_the_given_settings(tmp_path):
    (tmp_path / "two.yaml").write_text(TWO_TEMPLATES)
    bundle = load_bundle("tinyemo-faces-mini")
    plan = Plan(bundle=bundle, dataset="faces", attributes=["gender"], targets=["happy"], options={},
                config=tmp_path / "two.yaml")
    record = prompt_projection(plan).record
    # 2 templates x 7 emotions x 6 gender term pairs (the default settings give 7 templates: 294 pairs)
    assert record["n_pairs"] == 2 * len(bundle.classes) * 6
