import datetime

import factory
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model

from planning import services
from planning.models import DeploymentPlan
from planning.selectors import default_playbook

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified_email(user, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)


def make_plan(owner, **overrides) -> DeploymentPlan:
    """A plan made the way users make one: through the service, so its owner is a member."""
    fields = {
        "playbook": default_playbook(),
        "title": "Checkout service rollout",
        "release_version": "4.4.0",
        "environment": DeploymentPlan.Environment.STAGING,
        "week1_start": datetime.date(2026, 11, 2),
        "target_go_live": datetime.date(2026, 11, 30),
        "description": "",
        **overrides,
    }
    return services.plan_create(user=owner, **fields)
