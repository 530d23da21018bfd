"""A host that is not the example project: its own user and ticket models."""

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models


class AgentManager(BaseUserManager["Agent"]):
    def create_user(self, email: str, password: str | None = None, **extra: object) -> "Agent":
        user = self.model(email=self.normalize_email(email), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "Agent":
        return self.create_user(email, password, is_staff=True, is_superuser=True, **extra)


class Agent(AbstractBaseUser, PermissionsMixin):
    """A user who logs in by email and has no username."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)

    objects = AgentManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self) -> str:
        return self.email


class Label(models.Model):
    name = models.CharField(max_length=50, unique=True)

    def __str__(self) -> str:
        return self.name


class Case(models.Model):
    """A ticket by another name, with other fields, some of them secret.

    ``team`` is what the test host's access rule reads (agents see the cases of
    their groups). The secret fields must never reach an API answer.
    """

    title = models.CharField(max_length=200)
    team = models.ForeignKey(
        "auth.Group", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    secret_key = models.CharField(max_length=64, blank=True, default="")
    password = models.CharField(max_length=128, blank=True, default="")
    token = models.CharField(max_length=64, blank=True, default="")
    internal_note = models.TextField(blank=True, default="")
    api_key = models.CharField(max_length=64, blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    labels = models.ManyToManyField(Label, blank=True)
    is_archived = models.BooleanField(default=False)
    opened_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.title
