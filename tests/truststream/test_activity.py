import inspect
import re

from truststream import activity, audit

HIGHER_APPS = ("planning", "checklists", "signoffs")


def test_the_core_names_no_model_app_or_url_of_a_higher_app():
    source = inspect.getsource(activity)
    named = re.findall(rf"\b(?:{'|'.join(HIGHER_APPS)})\b[.:]?", source)
    assert named == []


def test_every_tracked_model_of_a_plan_is_registered_with_a_kind():
    # Registered with rules of its own or, on purpose, with `None` for the generic sentence;
    # a model nobody registered would read generically and never show under a filter.
    tracked = [model.pgh_tracked_model._meta.label for model in audit.plan_event_models()]
    assert tracked
    assert [label for label in tracked if label not in activity.MODELS] == []
    assert {registration.kind for registration in activity.MODELS.values()} == set(activity.KINDS)
    for label in tracked:
        assert activity.MODELS[label].model._meta.label == label
