from django.apps import AppConfig


class TruststreamConfig(AppConfig):
    name = "truststream"
    verbose_name = "TrustStram Readiness"
