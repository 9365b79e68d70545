"""The sample engagements are generated, not hand-made: same seed, same bytes."""
import filecmp


import qcikit
from qcikit import samples

from conftest import SAMPLES


def test_regenerating_gives_byte_identical_files(tmp_path):
    samples.generate(tmp_path)
    for spec in samples.CLIENTS:
        committed = sorted(p.name for p in (SAMPLES / spec.slug).iterdir())
        fresh = sorted(p.name for p in (tmp_path / spec.slug).iterdir())
        assert committed == fresh
        match, mismatch, errors = filecmp.cmpfiles(SAMPLES / spec.slug, tmp_path / spec.slug, fresh, shallow=False)
        assert not mismatch and not errors, (spec.slug, mismatch, errors)


def test_samples_teach_what_they_should():
    sizes = {}
    for spec in samples.CLIENTS:
        eng = qcikit.Engagement.load(SAMPLES / spec.slug)
        sizes[spec.slug] = len(eng.interactions)
        t = eng.interactions["transcript"]
        assert t.str.contains("<script>").any()
        assert t.str.contains("@example.com").any() and t.str.contains(r"\+44 7700").any()
        assert set(eng.interactions["touchpoint"]) == {"email", "chat", "phone", "face_to_face"}
        assert eng.interactions["effort"].notna().mean() > 0.2
        raters = eng.scores["rater"].unique()
        assert 3 <= len(raters) <= 4
        scored = eng.scored()
        by_rater = scored.groupby("rater")["qci"].mean()
        # One lenient rater: clearly above the others.
        assert by_rater.max() - by_rater.drop(by_rater.idxmax()).max() > 5
        assert set(eng.mystery_shops["competitor"]) == set(eng.config.competitors) and len(eng.config.competitors) == 2
        assert eng.gold["interaction_id"].nunique() == samples.GOLD_SIZE
        # A real improvement from wave 1 to wave 2 in the elements said to improve.
        share = eng.scores.assign(share=eng.scores["points"] / eng.scores["element"].map(eng.rubric.max_points))
        by = share.groupby(["element", "wave"])["share"].mean().unstack()
        gain = (by[eng.config.waves[1]] - by[eng.config.waves[0]])
        assert (gain[list(spec.improving)] > 0.05).all(), gain
    assert min(sizes.values()) < 1000 and max(sizes.values()) >= 20000
