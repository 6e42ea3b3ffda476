"""The catalog of boolean features plans can grant. Public schema."""

from django.db import models


class Feature(models.Model):
    key = models.SlugField(
        max_length=50,
        unique=True,
        help_text='snake_case, e.g. "sso"; what Plan.feature_keys lists.',
    )
    name_en = models.CharField("name (English)", max_length=100)
    name_pt_br = models.CharField("name (Português)", max_length=100)
    name_es = models.CharField("name (Español)", max_length=100)
    position = models.PositiveSmallIntegerField(default=0, help_text="Display order.")

    class Meta:
        ordering = ["position", "key"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(key__regex=r"^[a-z][a-z0-9_]{0,49}$"), name="feature_key_snake"
            )
        ]

    def __str__(self):
        return self.key

    def name_in(self, language: str | None) -> str:
        """The display name in a language (en, pt-br, es; anything else reads English)."""
        code = (language or "en").lower()
        if code.startswith("pt"):
            return self.name_pt_br
        if code.startswith("es"):
            return self.name_es
        return self.name_en
